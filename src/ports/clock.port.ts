/** The current time; a port so runs and tests can fix it. */
export interface Clock {
  now(): Date;
}
