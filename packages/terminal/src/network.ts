import { WebSocketClientAdapter, WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import type { Logger } from "pino";

/**
 * A websocket client adapter that treats every socket error as a lost
 * connection. The stock client adapter rethrows any error other than
 * ECONNREFUSED from its event listener, which ends the process on an
 * ordinary outage (ECONNRESET, ETIMEDOUT, EHOSTUNREACH).
 */
export class ResilientWebSocketClientAdapter extends WebSocketClientAdapter {
  constructor(url: string, retryIntervalMs: number, log: Logger) {
    super(url, retryIntervalMs);
    const self = this as unknown as { onError: (event: unknown) => void };
    let lastCode: string | null = null;
    self.onError = (event: unknown) => {
      const code = (event as { error?: NodeJS.ErrnoException })?.error?.code ?? "unknown";
      // Log each kind of failure once per run of failures, not every retry.
      if (code !== lastCode) log.debug({ url, code }, "websocket connection failed, retrying");
      lastCode = code;
    };
  }
}

/**
 * A websocket server adapter that is ready as soon as it exists. The stock
 * server adapter reports ready only after its first client connects, and
 * automerge-repo waits for every adapter to be ready before it loads a
 * document from storage, so a terminal with no LAN peer, or a relay with no
 * terminal, would never load its own documents.
 */
export class ListeningWebSocketServerAdapter extends WebSocketServerAdapter {
  override isReady(): boolean {
    return true;
  }

  override whenReady(): Promise<void> {
    return Promise.resolve();
  }
}
