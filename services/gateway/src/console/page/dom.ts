/**
 * Elements built with createElement and text nodes only: whatever came from the gateway (operator names,
 * user ids, paths, diff values) is always text, never markup.
 */

export type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined>;

function setAttributes(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  element.append(...texts(children));
  return element;
}

export function svg(tag: string, attributes: Attributes = {}, ...children: Child[]): SVGElement {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttributes(element, attributes);
  element.append(...texts(children));
  return element;
}

function texts(children: Child[]): Node[] {
  return children.flatMap((child) =>
    child === null || child === undefined || child === false
      ? []
      : [typeof child === 'object' ? child : document.createTextNode(String(child))],
  );
}

export const percent = (fraction: number | null) =>
  fraction === null ? '–' : `${Math.round(fraction * 1000) / 10} %`;
export const time = (iso: string) => new Date(iso).toLocaleTimeString();
export const dateTime = (iso: string) => new Date(iso).toLocaleString();

/** A table with a header row; rows of cells (each a child). */
export function table(headers: string[], rows: Child[][], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', {}, header)))),
      h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', {}, cell))))),
    ),
  );
}

const dialog = () => document.getElementById('confirm') as HTMLDialogElement;

/** The console's own confirmation: resolves true on Confirm, false on Cancel or Escape. */
export function confirmAction(question: string): Promise<boolean> {
  const box = dialog();
  document.getElementById('confirm-text')!.textContent = question;
  return new Promise((resolve) => {
    const answer = (value: boolean) => () => {
      box.removeEventListener('cancel', cancel);
      ok.removeEventListener('click', yes);
      no.removeEventListener('click', cancel);
      if (box.open) box.close();
      resolve(value);
    };
    const ok = box.querySelector<HTMLButtonElement>('[data-answer="ok"]')!;
    const no = box.querySelector<HTMLButtonElement>('[data-answer="cancel"]')!;
    const yes = answer(true);
    const cancel = answer(false);
    box.addEventListener('cancel', cancel);
    ok.addEventListener('click', yes);
    no.addEventListener('click', cancel);
    box.showModal();
  });
}
