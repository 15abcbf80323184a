/** A request for one page of a list: at most `first` items after the opaque `after` cursor. */
export interface PageRequest {
  readonly first: number;
  readonly after?: string;
}

/** One page of a list, Relay-style. `cursor` of each item resumes after it. */
export interface Page<T> {
  readonly items: readonly { readonly cursor: string; readonly node: T }[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
}
