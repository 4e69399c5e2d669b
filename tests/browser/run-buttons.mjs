// Reads the book as a reader does, in headless Chromium: clicks Run on a std,
// a tokio and a may example and waits for their output, runs an edited
// example that takes longer than mdBook's 6 s playground timeout (in a second
// tab, meanwhile), then edits a chapter
// and waits for the open page to reload with the edit. Fails on any
// JavaScript error or console error.
//
// Usage: node run-buttons.mjs <book URL> <book root being served>
// (the Rust test tools/bookctl/tests/browser.rs starts the server on a
// temporary copy of the book and runs this). CHROMIUM overrides the browser.

import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, root] = process.argv.slice(2);
if (!url || !root) {
    console.error("usage: node run-buttons.mjs <book URL> <book root being served>");
    process.exit(2);
}

// Each page, an example on it (by a line of its code) and a line of its output.
const examples = [
    { page: "threads/first-threads.html", code: "Both threads are done", output: "Both threads are done!" },
    { page: "async/first-coroutines.html", code: "start_paused", output: "All workers finished after 1 s" },
    { page: "green/first-coroutines.html", code: "may::", output: "all workers finished" },
];

const start = performance.now();
const elapsed = () => `${((performance.now() - start) / 1000).toFixed(1)} s`;

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // CI runs as root, where Chromium's own sandbox cannot start. The rest
    // keeps an offline Chromium from reaching for Google's services.
    args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
});
const errors = [];
let failed = false;
try {
    const newPage = async () => {
        const page = await browser.newPage();
        page.on("console", message => {
            if (message.type() === "error") {
                errors.push(`console error on ${page.url()}: ${message.text()}`);
            }
        });
        page.on("pageerror", error => errors.push(`page error on ${page.url()}: ${error.message}`));
        return page;
    };
    // Clicks Run on `block` and waits until its result shows `output`.
    const run = async (block, output, timeout) => {
        // mdBook shows a block's buttons while the pointer is over it, and
        // the Run button once the (local) playground has listed its crates.
        await block.hover();
        await block.locator("button.play-button").click({ timeout: 10_000 });
        await block.locator("code.result").filter({ hasText: output }).waitFor({ timeout });
    };

    // A Run that takes longer than the 6 s mdBook's book.js allows the
    // playground still shows its output (theme/head.hbs lifts that timer).
    // It runs in a tab of its own while the other examples run.
    const slowPage = await newPage();
    await slowPage.goto(new URL(examples[0].page, url).href, { waitUntil: "domcontentloaded" });
    const slowBlock = slowPage.locator("pre.playground").first();
    await slowBlock.locator("code").first().evaluate(code => {
        code.textContent = "fn main() {\n" +
            "    std::thread::sleep(std::time::Duration::from_millis(6500));\n" +
            "    println!(\"done after 6.5 s\");\n}\n";
    });
    const slowRun = run(slowBlock, "done after 6.5 s", 30_000);

    const page = await newPage();
    for (const example of examples) {
        await page.goto(new URL(example.page, url).href, { waitUntil: "domcontentloaded" });
        const block = page.locator("pre.playground").filter({ hasText: example.code }).first();
        await run(block, example.output, 20_000);
        console.log(`browser test: ${example.page}: Run showed ${JSON.stringify(example.output)} (${elapsed()})`);
    }
    // Before the live reload, which reloads every open page.
    await slowRun;
    console.log(`browser test: a 6.5 s Run showed its output (${elapsed()})`);

    // Live reload: the page open (the may chapter) reloads with the edit.
    const marker = `Live reload marker ${Date.now()}`;
    const saved = performance.now();
    appendFileSync(join(root, "src/green/first-coroutines.md"), `\n\n${marker}\n`);
    await page.getByText(marker).waitFor({ timeout: 20_000 });
    const took = Math.round(performance.now() - saved);
    // Reported, not asserted: a busy machine may take longer.
    console.log(`browser test: live reload showed the edit ${took} ms after the save (${elapsed()})`);
} catch (error) {
    failed = true;
    console.error(`FAILED: ${error.message}`);
} finally {
    await browser.close();
}
for (const error of errors) {
    console.error(error);
}
if (failed || errors.length > 0) {
    process.exit(1);
}
console.log(`browser test: passed (${elapsed()})`);
