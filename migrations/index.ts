import { Initial1764000000000 } from './1764000000000-Initial.ts';

export const migrations = [Initial1764000000000];
