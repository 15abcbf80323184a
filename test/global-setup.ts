// Filled in by the integration harness; unit tests need nothing.
export default async function setup(): Promise<void> {}
