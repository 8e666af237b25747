import {
  Api,
  ApiError,
  type DataStatus,
  type Flag,
  type HistoryEntry,
  type Me,
  type ShadowReport,
  type Traffic,
} from './api.js';
import { FlagCard, type Read } from './card.js';

const TOKEN_KEY = 'cinemaabyss-console-token';
/** Everything is read again every second, so a change made anywhere shows within about one. */
const POLL_MS = 1_000;
/** The traffic chart moves in 10 s samples: read every fifth time. */
const TRAFFIC_EVERY = 5;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const login = byId<HTMLFormElement>('login');
const tokenInput = login.querySelector<HTMLInputElement>('input[name="token"]')!;
const loginError = byId('login-error');
const flagsBox = byId('flags');
const status = byId('status');
const whoami = byId('whoami');
const logout = byId<HTMLButtonElement>('logout');

async function read<T>(call: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** A logged-in console: polls the admin API with one token until logged out. */
class Session {
  private readonly cards = new Map<string, FlagCard>();
  private timer: number | undefined;
  private running = false;
  private again = false;
  private reads = 0;
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly me: Me,
  ) {}

  start(): void {
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    flagsBox.replaceChildren();
  }

  /** Reads now (after an action); a read under way is followed by another. */
  refresh = (): void => {
    if (this.running) this.again = true;
    else {
      clearTimeout(this.timer);
      void this.tick();
    }
  };

  private async tick(): Promise<void> {
    this.running = true;
    try {
      await this.readAll();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return end(error.message);
      status.textContent = `gateway: ${error instanceof Error ? error.message : String(error)}`;
      status.className = 'error';
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      return void this.tick();
    }
    this.timer = window.setTimeout(() => void this.tick(), POLL_MS);
  }

  private async readAll(): Promise<void> {
    const { api } = this;
    const { flags, redis } = await api.call<{ redis: string; flags: Flag[] }>('GET', '/admin/flags');
    const withTraffic = this.reads++ % TRAFFIC_EVERY === 0;
    await Promise.all(
      flags.map(async (flag) => {
        const path = (rest: string) => api.flagPath(flag.name, rest);
        const { data: domain } = flag;
        const [rollout, shadow, history, traffic, data] = await Promise.all([
          read(() => api.rollout(flag.name)),
          read(() => api.call<ShadowReport>('GET', path('/shadow'))),
          read(async () => (await api.call<{ history: HistoryEntry[] }>('GET', path('/history'))).history),
          withTraffic ? read(() => api.call<Traffic>('GET', path('/traffic'))) : undefined,
          // Only a flag whose new side owns a copy of the data (the routing policy's `data`) has a status.
          domain === null ? undefined : read(() => api.call<DataStatus>('GET', api.dataPath(domain))),
        ]);
        if (this.stopped) return;
        this.card(flag.name).update({
          flag,
          rollout,
          shadow,
          history,
          ...(traffic && { traffic }),
          ...(data && { data }),
        });
      }),
    );
    for (const [name, card] of this.cards)
      if (!flags.some((flag) => flag.name === name)) {
        card.root.remove();
        this.cards.delete(name);
      }
    status.textContent = `updated ${new Date().toLocaleTimeString()} · redis ${redis}`;
    status.className = redis === 'connected' ? 'muted' : 'error';
  }

  private card(name: string): FlagCard {
    let card = this.cards.get(name);
    if (!card) {
      card = new FlagCard(name, {
        api: this.api,
        readOnly: this.me.role !== 'operator',
        refresh: this.refresh,
      });
      this.cards.set(name, card);
      flagsBox.append(card.root);
    }
    return card;
  }
}

let session: Session | undefined;

/** Checks the token with GET /admin/me; the gateway's refusal is shown as it words it. */
async function begin(token: string): Promise<void> {
  const api = new Api(token);
  let me: Me;
  try {
    me = await api.call<Me>('GET', '/admin/me');
  } catch (error) {
    return end(error instanceof Error ? error.message : String(error));
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  login.hidden = true;
  loginError.textContent = '';
  whoami.textContent =
    me.role === 'operator'
      ? `${me.name} · operator`
      : `${me.name} · ${me.role}: read-only, actions are disabled`;
  whoami.hidden = false;
  logout.hidden = false;
  session = new Session(api, me);
  session.start();
}

/** Back to the login form, with the reason if there is one. */
function end(reason = ''): void {
  session?.stop();
  session = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  login.hidden = false;
  loginError.textContent = reason;
  whoami.hidden = true;
  logout.hidden = true;
  status.textContent = '';
}

login.addEventListener('submit', (event) => {
  event.preventDefault();
  void begin(tokenInput.value.trim());
  tokenInput.value = '';
});
logout.addEventListener('click', () => end());

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) void begin(saved);
