import type { ReactiveController, ReactiveControllerHost } from "lit";

/**
 * Tracks the rendered width of a component, so a chart can draw at one
 * SVG unit per CSS pixel and keep its text readable on a phone as on a till.
 */
export class WidthObserver implements ReactiveController {
  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #observer: ResizeObserver;
  width: number;

  constructor(host: ReactiveControllerHost & HTMLElement, fallback: number) {
    this.#host = host;
    this.width = fallback;
    this.#observer = new ResizeObserver((entries) => {
      const width = Math.round(entries[0]?.contentRect.width ?? this.width);
      if (width > 0 && width !== this.width) {
        this.width = width;
        this.#host.requestUpdate();
      }
    });
    host.addController(this);
  }

  hostConnected(): void {
    this.#observer.observe(this.#host);
  }

  hostDisconnected(): void {
    this.#observer.disconnect();
  }
}
