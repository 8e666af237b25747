/**
 * The data domain a flag's new side serves, whose replication and parity gate the flag's rollout; none
 * for a flag that moves no data. The one place that knows the mapping: for now the movies flag is the
 * movies domain (the routing policy is to name it later; re-point this function then).
 */
export function dataDomainOf(flag: string): string | undefined {
  return flag === 'movies' ? 'movies' : undefined;
}
