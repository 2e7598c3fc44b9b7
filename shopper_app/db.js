// Small promise helpers over IndexedDB. Three stores:
//   kv      – settings, the session, cached lists and briefings (out-of-line keys)
//   outbox  – queued writes in the order they were made (auto-increment `seq`)
//   visits  – the local state of each visit in progress, by assignment id
const DB_NAME = "fieldwork";
const DB_VERSION = 1;
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
        if (!db.objectStoreNames.contains("outbox")) {
          db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        }
        if (!db.objectStoreNames.contains("visits")) {
          db.createObjectStore("visits", { keyPath: "assignmentId" });
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function store(name, mode = "readonly") {
  const db = await open();
  return db.transaction(name, mode).objectStore(name);
}

export async function get(storeName, key) {
  return done((await store(storeName)).get(key));
}

export async function getAll(storeName) {
  return done((await store(storeName)).getAll());
}

export async function put(storeName, value, key) {
  const s = await store(storeName, "readwrite");
  return done(key === undefined ? s.put(value) : s.put(value, key));
}

export async function add(storeName, value) {
  return done((await store(storeName, "readwrite")).add(value));
}

export async function del(storeName, key) {
  return done((await store(storeName, "readwrite")).delete(key));
}

/**
 * Reads `key` and writes back what `change(current)` returns, in one transaction: a value is put,
 * null deletes, undefined leaves it. Resolves with what `change` returned, once committed.
 */
export async function update(storeName, key, change) {
  const s = await store(storeName, "readwrite");
  return new Promise((resolve, reject) => {
    let outcome;
    const read = s.get(key);
    read.onsuccess = () => {
      outcome = change(read.result);
      if (outcome === null) s.delete(key);
      else if (outcome !== undefined) s.put(outcome);
    };
    s.transaction.oncomplete = () => resolve(outcome);
    s.transaction.onerror = () => reject(s.transaction.error);
    s.transaction.onabort = () => reject(s.transaction.error);
  });
}

export async function clear(storeName) {
  return done((await store(storeName, "readwrite")).clear());
}

export const kv = {
  get: (key) => get("kv", key),
  set: (key, value) => put("kv", value, key),
  del: (key) => del("kv", key),
};
