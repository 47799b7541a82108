// The web terminal's route, for every Connect button (My assets, the asset page) and deep links.

/** The terminal page of an asset (and system user): the route Connect buttons link to. */
export function terminalPath(asset: string, systemUser?: string | null): string {
  const base = `/terminal/${encodeURIComponent(asset)}`;
  return systemUser ? `${base}?systemUser=${encodeURIComponent(systemUser)}` : base;
}
