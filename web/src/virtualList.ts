// A scrolling list of any length that draws only the rows in view (rows of one fixed height), so
// every failure of a 100,000-file upload can be scrolled to without 100,000 DOM rows. Screen
// readers hear each row's place in the whole list (aria-posinset / aria-setsize).

/** Rows drawn beyond each edge of the view, so a fast scroll shows no gap. */
const OVERSCAN = 4;

export class VirtualList {
  readonly #viewport: HTMLElement;
  readonly #spacer: HTMLElement;
  readonly #rowHeight: number;
  readonly #drawRow: (row: HTMLElement, index: number) => void;
  readonly #rows: HTMLElement[] = [];
  #count = 0;

  /** `viewport` scrolls (give it a height or max-height); each row is `rowHeight` CSS pixels. */
  constructor(viewport: HTMLElement, rowHeight: number, drawRow: (row: HTMLElement, index: number) => void) {
    this.#viewport = viewport;
    this.#rowHeight = rowHeight;
    this.#drawRow = drawRow;
    this.#spacer = document.createElement("div");
    this.#spacer.className = "virtual-spacer";
    this.#spacer.setAttribute("role", "list");
    viewport.append(this.#spacer);
    viewport.addEventListener("scroll", () => this.refresh(), { passive: true });
  }

  /** Draws `count` rows (the rows in view, that is), keeping the scroll position where it can. */
  setCount(count: number): void {
    this.#count = count;
    this.#spacer.style.height = `${count * this.#rowHeight}px`;
    this.refresh();
  }

  /** Draws the rows in view again (their content may have changed). */
  refresh(): void {
    const height = this.#viewport.clientHeight || this.#rowHeight * 8;
    const first = Math.max(0, Math.floor(this.#viewport.scrollTop / this.#rowHeight) - OVERSCAN);
    const last = Math.min(this.#count, Math.ceil((this.#viewport.scrollTop + height) / this.#rowHeight) + OVERSCAN);
    const needed = Math.max(0, last - first);
    while (this.#rows.length < needed) {
      const row = document.createElement("div");
      row.className = "virtual-row";
      row.setAttribute("role", "listitem");
      row.style.height = `${this.#rowHeight}px`;
      this.#spacer.append(row);
      this.#rows.push(row);
    }
    this.#rows.forEach((row, slot) => {
      const index = first + slot;
      row.hidden = slot >= needed;
      if (row.hidden) return;
      row.style.transform = `translateY(${index * this.#rowHeight}px)`;
      row.setAttribute("aria-posinset", String(index + 1));
      row.setAttribute("aria-setsize", String(this.#count));
      this.#drawRow(row, index);
    });
  }
}
