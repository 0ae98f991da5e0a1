import { readdir, readFile } from "node:fs/promises";
import { expect } from "chai";
import { HELPER_NICE_STEPS } from "@mercora/terminal";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

/** Reads the nice value of each thread of process `pid` from /proc, by thread id. */
async function threadNices(pid: number): Promise<Map<number, number>> {
  const nices = new Map<number, number>();
  for (const entry of await readdir(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/task/${entry}/stat`, "utf8");
    } catch {
      continue; // The thread ended between the listing and the read.
    }
    // The command name may contain spaces, so split after it: the first field there is field 3 (state), and nice is field 19.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    nices.set(Number(entry), Number(fields[19 - 3]));
  }
  return nices;
}

describe("terminal thread priority", function () {
  const { csv, products } = smallCatalog(40);
  let fixture: Awaited<ReturnType<typeof startStore>> | undefined;

  before(function () {
    if (process.platform !== "linux") this.skip();
  });

  after(async function () {
    await fixture?.stop();
  });

  it("lowers helper threads, not main", async function () {
    fixture = await startStore([{ id: "A", name: "Sucursal Centro", timeZone: "America/Mexico_City", terminals: ["T1"], openingStock: { default: 20 } }], csv);
    const t1 = fixture.store.terminal("A", "T1");
    const pid = t1.process.child.pid!;
    const nices = await threadNices(pid);
    const main = nices.get(pid)!;
    const helpers = [...nices].filter(([tid]) => tid !== pid).map(([, nice]) => nice);

    expect(main).to.equal(await threadNices(process.pid).then((own) => own.get(process.pid)));
    // At least V8's workers and libuv's thread pool.
    expect(helpers.length).to.be.greaterThan(2);
    for (const nice of helpers) expect(nice, `thread nice values ${JSON.stringify([...nices])}`).to.equal(Math.min(19, main + HELPER_NICE_STEPS));

    const sale = await sell(t1.http, products[0]!, 2);
    expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
  });
});
