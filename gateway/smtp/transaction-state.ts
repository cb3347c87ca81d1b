// How many mail transactions each user has open in this process, for limits.maxTransactionsPerUser.
// Transaction opens and closes its own count (transaction.ts), so the count cannot drift.

const activeByUser = new Map<string, number>();

export function activeTransactions(user: string): number {
  return activeByUser.get(user) ?? 0;
}

export function transactionOpened(user: string): void {
  activeByUser.set(user, activeTransactions(user) + 1);
}

export function transactionClosed(user: string): void {
  const left = activeTransactions(user) - 1;
  if (left > 0) activeByUser.set(user, left);
  else activeByUser.delete(user);
}
