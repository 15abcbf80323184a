/**
 * Signed messages already accepted, per workspace, for as long as their signature would be
 * accepted at all (after that a replay is refused as stale). Shared by every process, so a replay
 * to another process is refused as well.
 */
export interface SeenSignatureStore {
  /**
   * Records the message as accepted until `expiresAt`. False when it is recorded already and has
   * not expired by `now`: the call is a replay. Two callers claiming at once never both get true.
   */
  claim(input: { readonly workspaceId: string; readonly digest: string; readonly expiresAt: Date; readonly now: Date }): Promise<boolean>;
  /** Forgets a claim whose call was refused after all, so a retry of the same signed call is not a replay. */
  release(input: { readonly workspaceId: string; readonly digest: string }): Promise<void>;
}
