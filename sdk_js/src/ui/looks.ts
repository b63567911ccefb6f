/**
 * "Looks to compare": the shopper's try-on results, kept in this browser only. In memory by
 * default; in IndexedDB (database `tryon-looks`) only after the shopper opts in, and the
 * database is deleted when they opt out or clear. Nothing here is ever sent anywhere.
 */
export interface Look {
  id: string;
  productId: string;
  title: string;
  image: Blob;
}

const DB = "tryon-looks";
const STORE = "looks";
export const MAX_LOOKS = 8;

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function open(): Promise<IDBDatabase> {
  const r = indexedDB.open(DB, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: "id" });
  return request(r);
}

async function write(looks: Look[]): Promise<void> {
  const db = await open();
  const tx = db.transaction(STORE, "readwrite");
  const store = tx.objectStore(STORE);
  store.clear();
  for (const look of looks) store.put(look);
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

export class Looks {
  items: Look[] = [];
  /** Whether the shopper chose to keep their looks on this device (IndexedDB). */
  kept = false;

  /** Looks kept on this device before, if the shopper opted in then (never creates the database). */
  async restore(): Promise<void> {
    try {
      const found = (await indexedDB.databases?.())?.some((d) => d.name === DB);
      if (!found) return;
      const db = await open();
      const all = (await request(db.transaction(STORE).objectStore(STORE).getAll())) as Look[];
      db.close();
      this.kept = true;
      const known = new Set(this.items.map((l) => l.id));
      this.items = [...all.filter((l) => !known.has(l.id)), ...this.items].slice(-MAX_LOOKS);
    } catch {
      // private mode or no IndexedDB: memory only
    }
  }

  async add(look: Look): Promise<void> {
    this.items = [...this.items, look].slice(-MAX_LOOKS);
    if (this.kept) await write(this.items).catch(() => undefined);
  }

  /** Opt in (write what is here) or out (delete the database). */
  async keep(on: boolean): Promise<void> {
    this.kept = on;
    if (on) await write(this.items);
    else await request(indexedDB.deleteDatabase(DB)).catch(() => undefined);
  }

  async clear(): Promise<void> {
    this.items = [];
    if (this.kept) await this.keep(false);
  }
}
