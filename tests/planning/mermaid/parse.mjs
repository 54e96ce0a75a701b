// Parse Mermaid sources with mermaid's own parser: stdin holds a JSON array of sources; stdout gets a JSON
// array with, for each, {"ok": true, "diagramType": ...} or {"ok": false, "error": message}.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
const results = [];
for (const source of JSON.parse(readFileSync(0, "utf8"))) {
  try {
    const result = await mermaid.parse(source);
    results.push({ ok: true, diagramType: result.diagramType });
  } catch (error) {
    results.push({ ok: false, error: error.message });
  }
}
console.log(JSON.stringify(results));
