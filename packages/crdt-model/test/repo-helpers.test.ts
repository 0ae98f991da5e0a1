import type { AutomergeUrl, Repo as RepoClass } from "@automerge/automerge-repo";
import { expect } from "chai";
import { findDocument } from "../src/repo-helpers.ts";

describe("findDocument", function () {
  this.timeout(10_000);
  let Repo: typeof RepoClass;

  before(async function () {
    // Mocha may load this file as CommonJS; automerge-repo needs Automerge's ES module build, which loads its WebAssembly.
    ({ Repo } = await import("@automerge/automerge-repo"));
  });

  it("finds a local document when the timeout has a fraction of a millisecond", async function () {
    // A deadline computed from performance.now() has a fraction, and AbortSignal.timeout rejects one.
    const repo = new Repo({ network: [] });
    const created = repo.create<{ folio: number }>({ folio: 7 });
    const found = await findDocument<{ folio: number }>(repo, created.url, { timeoutMs: 599_999.41 });
    expect(found.doc().folio).to.equal(7);
    await repo.shutdown();
  });

  it("names the URL after a fractional timeout", async function () {
    const owner = new Repo({ network: [] });
    const url: AutomergeUrl = owner.create({ folio: 1 }).url;
    const repo = new Repo({ network: [] });
    const started = Date.now();
    let failure: Error | null = null;
    try {
      await findDocument(repo, url, { timeoutMs: 300.5, retryMs: 50 });
    } catch (error) {
      failure = error as Error;
    }
    expect(failure?.message).to.include(url).and.include("after 300.5 ms");
    expect(Date.now() - started).to.be.at.least(300);
    await repo.shutdown();
    await owner.shutdown();
  });

  it("rejects a timeout that is not a positive number at once", async function () {
    const repo = new Repo({ network: [] });
    const url = repo.create({ folio: 1 }).url;
    for (const timeoutMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      let failure: unknown = null;
      try {
        await findDocument(repo, url, { timeoutMs });
      } catch (error) {
        failure = error;
      }
      expect(failure, String(timeoutMs)).to.be.instanceOf(RangeError);
      expect((failure as Error).message).to.include(`got ${timeoutMs}`);
    }
    await repo.shutdown();
  });
});
