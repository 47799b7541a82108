// The interactive menu (`ssh -p 2222 alice@bastion`): a numbered, paged table of the
// granted assets, `/text` search, a number or a name to connect, back here afterwards.
// Only the visible page is rendered, so 5,000 assets cost a filter, not a screenful each.
import type { GrantedAsset } from '../../core/access/accessService.ts';
import type { LineReader } from './lineReader.ts';
import type { SessionState } from '../channels/sessionState.ts';
import { cell, pageSizeFor, renderTable } from './assetTable.ts';
import { oneLine } from '../terminalErrors.ts';
import { terminalSafe } from '../terminalSafe.ts';

export interface MenuHost {
  /** The assets granted to the operator now (asked again after every session). */
  granted(): Promise<GrantedAsset[]>;
  /**
   * Connects to the asset and returns when the remote shell is over; `false` ends the menu
   * (the operator's channel is gone or the session was ended by the gateway).
   * Errors are shown as one line and the menu goes on.
   */
  connect(asset: GrantedAsset | null, target: string): Promise<boolean>;
  /** One line for an error thrown by connect or granted. */
  describe(err: unknown): string;
}

const HELP = [
  'Enter the number or the name of an asset to connect to it (deploy@web01 picks a system user).',
  '  /text   show only assets whose name, address or comment contain text (/ alone: all)',
  '  n, p    next / previous page',
  '  r       reload the list',
  '  h       this help   (Up/Down: the lines typed before)',
  '  q       quit (also Ctrl-D)',
];

interface Indexed {
  item: GrantedAsset;
  haystack: string;
}

export class AssetMenu {
  #all: Indexed[] = [];
  #shown: GrantedAsset[] = [];
  #search = '';
  #page = 0;
  /** What the operator typed at this menu, for Up/Down. */
  readonly #history: string[] = [];

  constructor(
    private readonly reader: LineReader,
    private readonly state: SessionState,
    private readonly host: MenuHost,
    private readonly username: string,
  ) {}

  async run(): Promise<void> {
    await this.#reload();
    this.#showPage();
    for (;;) {
      const line = await this.reader.read(`\x1b[1m${terminalSafe(this.username)}@bastion\x1b[0m${this.#search ? ` /${this.#search}` : ''}> `, { history: this.#history });
      if (line === null) return;
      const cmd = line.trim();
      if (cmd === '') continue;
      if (cmd === 'q' || cmd === 'quit' || cmd === 'exit') return;
      if (!(await this.#command(cmd))) return;
    }
  }

  /** false when the menu must end. */
  async #command(cmd: string): Promise<boolean> {
    switch (cmd) {
      case 'h':
      case '?':
      case 'help':
        this.#say(HELP.map((l) => cell(l, this.state.cols - 1).trimEnd()).join('\r\n'));
        return true;
      case 'n':
        if ((this.#page + 1) * this.#pageSize() < this.#shown.length) this.#page++;
        else this.#say('(last page)');
        this.#showPage();
        return true;
      case 'p':
        if (this.#page > 0) this.#page--;
        else this.#say('(first page)');
        this.#showPage();
        return true;
      case 'r':
        await this.#reload();
        this.#showPage();
        return true;
      default:
        break;
    }
    if (cmd.startsWith('/')) {
      this.#search = cmd.slice(1).trim();
      this.#page = 0;
      this.#filter();
      this.#showPage();
      return true;
    }
    if (/^\d+$/.test(cmd)) {
      const n = Number(cmd);
      const asset = this.#shown[n - 1];
      if (!asset) {
        this.#say(`no asset number ${cmd} in the list`);
        return true;
      }
      return this.#connect(asset, asset.asset.name);
    }
    return this.#connect(null, cmd);
  }

  async #connect(asset: GrantedAsset | null, target: string): Promise<boolean> {
    let goOn: boolean;
    try {
      goOn = await this.host.connect(asset, target);
    } catch (err) {
      this.#say(this.host.describe(err));
      return true;
    }
    if (!goOn) return false;
    await this.#reload();
    this.#showPage();
    return true;
  }

  async #reload(): Promise<void> {
    try {
      const granted = await this.host.granted();
      this.#all = granted.map((item) => ({ item, haystack: `${item.asset.name}\n${item.asset.address}\n${item.asset.comment}`.toLowerCase() }));
    } catch (err) {
      this.#say(this.host.describe(err));
    }
    this.#filter();
  }

  #filter(): void {
    const q = this.#search.toLowerCase();
    this.#shown = q ? this.#all.filter((i) => i.haystack.includes(q)).map((i) => i.item) : this.#all.map((i) => i.item);
    const last = Math.max(0, Math.ceil(this.#shown.length / this.#pageSize()) - 1);
    this.#page = Math.min(this.#page, last);
  }

  #pageSize(): number {
    return pageSizeFor(this.state.rows);
  }

  #showPage(): void {
    const size = this.#pageSize();
    const pages = Math.max(1, Math.ceil(this.#shown.length / size));
    const total = this.#all.length;
    const cols = this.state.cols;
    if (total === 0) {
      this.#say('No assets are granted to you yet. Ask an administrator for a permission.');
      return;
    }
    const matching = this.#search ? `, ${this.#shown.length} matching '${oneLine(this.#search)}'` : '';
    this.#say(cell(`${total} asset${total === 1 ? '' : 's'} granted to ${this.username}${matching} — page ${this.#page + 1}/${pages}`, cols - 1).trimEnd());
    if (this.#shown.length > 0) this.reader.write(renderTable(this.#shown, { start: this.#page * size, size }, cols));
    this.#say(cell('number or name to connect, /text search, n/p page, h help, q quit', cols - 1).trimEnd());
  }

  #say(text: string): void {
    this.reader.write(`${text}\r\n`);
  }
}
