import type { AddressInfo } from "node:net";
import type { Repo as RepoClass } from "@automerge/automerge-repo";
import { WebSocketServer } from "ws";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits up to `ms` for `test` to return true, checking every 50 ms, and returns its last result. */
export async function waitUntil(test: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (test()) return true;
    await sleep(50);
  }
  return test();
}

/** Repos and servers of one mocha `describe`, stopped after each test in reverse order. */
export interface RepoScope {
  /** automerge-repo's `Repo` class, loaded before the first test. */
  readonly Repo: typeof RepoClass;
  /** Registers a stop to run after the current test. */
  defer(stop: () => Promise<unknown>): void;
  /** Starts a websocket server on 127.0.0.1 with a free port, closed after the current test. */
  listen(): Promise<{ wss: WebSocketServer; url: string }>;
}

/** Registers the mocha hooks of a `RepoScope`; call it inside `describe`. */
export function repoScope(): RepoScope {
  let Repo: typeof RepoClass | null = null;
  const stops: (() => Promise<unknown>)[] = [];

  before(async function () {
    // Mocha may load a test file as CommonJS, and automerge-repo needs Automerge's ES module build, which loads its WebAssembly.
    ({ Repo } = await import("@automerge/automerge-repo"));
  });

  afterEach(async function () {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  return {
    get Repo() {
      if (!Repo) throw new Error("automerge-repo is not loaded yet: use the scope's Repo inside a test or a later hook");
      return Repo;
    },
    defer: (stop) => void stops.push(stop),
    async listen() {
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
      await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
      stops.push(() => new Promise((resolve) => wss.close(resolve)));
      return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
    },
  };
}
