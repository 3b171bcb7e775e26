import { describe, expect, it } from "vitest";
import { Sha256, sha256OfBlob } from "./sha256";
import { placeUploads, uploadMessage } from "./upload";

// the reference: the platform's own SHA-256 (WebCrypto, in Node as in browsers)
const reference = async (data: Uint8Array<ArrayBuffer>) =>
  Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)), (b) => b.toString(16).padStart(2, "0")).join("");

describe("Sha256", () => {
  it("matches the standard vectors", () => {
    expect(new Sha256().hex()).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(new Sha256().update(new TextEncoder().encode("abc")).hex()).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
  it("agrees with WebCrypto for every length around the block edges, fed in odd pieces", async () => {
    for (const length of [1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);
      const hash = new Sha256();
      for (let at = 0; at < length; at += 13) hash.update(data.subarray(at, at + 13));
      expect(hash.hex()).toBe(await reference(data));
    }
  });
  it("hashes a blob slice by slice", async () => {
    const data = new Uint8Array((4 << 20) + 100).map((_, i) => i & 0xff); // two slices
    expect(await sha256OfBlob(new Blob([data]), false)).toBe(await reference(data));
    expect(await sha256OfBlob(new Blob([data]))).toBe(await reference(data)); // the browser's own
  });
});

describe("placeUploads", () => {
  const entry = (path: string, hash = "a".repeat(64)) => ({ path, hash, size: 1, mode: 0o644 });
  it("adds the files to the folder shown and replaces one of the same path", () => {
    const tree = [entry("data/a.csv"), entry("train.py")];
    const placed = placeUploads(tree, "data", [
      { name: "a.csv", hash: "b".repeat(64), size: 5 },
      { name: "new/b.csv", hash: "c".repeat(64), size: 3 },
    ]);
    expect(placed.map((e) => [e.path, e.hash[0], e.size])).toEqual([
      ["data/a.csv", "b", 5],
      ["data/new/b.csv", "c", 3],
      ["train.py", "a", 1],
    ]);
  });
  it("says what was uploaded where", () => {
    expect(uploadMessage("", ["a.py"])).toBe("Upload a.py");
    expect(uploadMessage("data", ["1", "2", "3", "4", "5"])).toBe("Upload 1, 2, 3 and 2 more to data/");
  });
});
