// Checks the side-by-side layout at the widths of common laptop and desktop
// screens, with the sidebar open and closed, in headless Chromium: on every
// page with a <div class="parallel">, each pair laid out side by side
//   - stays clear of mdBook's previous/next arrows (no overlap of their
//     bounding boxes), and
//   - shows every line of its code without sideways scrolling;
// and a pair that cannot fit is stacked (theme/parallel.js), so that the
// reader never meets a clipped pane. Prints, per width, how many pairs stood
// side by side.
//
// Usage: node layout.mjs <directory of a rendered book>
// (tools/bookctl/tests/layout.rs renders the book and runs this). CHROMIUM
// overrides the browser.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [root] = process.argv.slice(2);
if (!root) {
    console.error("usage: node layout.mjs <directory of a rendered book>");
    process.exit(2);
}

function htmlFiles(dir) {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) return htmlFiles(path);
        return entry.name.endsWith(".html") ? [path] : [];
    });
}
const pages = htmlFiles(root).filter((file) =>
    readFileSync(file, "utf8").includes('class="parallel"')
);
if (pages.length === 0) {
    console.error(`no page under ${root} has a side-by-side pair`);
    process.exit(1);
}

const widths = [1280, 1366, 1400, 1920];
const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
});
const problems = [];
// Counts, per width and sidebar state, of the pairs seen and those side by side.
const counts = new Map();
// The measurement, in the page: every pair, whether it stands side by side,
// whether it overlaps a visible previous/next arrow, and its clipped lines.
const measure = () => {
    const box = (element) => element.getBoundingClientRect();
    const visible = (element) => {
        const style = getComputedStyle(element);
        return style.display !== "none" && style.visibility !== "hidden" && box(element).width > 0;
    };
    const arrows = Array.from(document.querySelectorAll(".nav-chapters")).filter(visible).map(box);
    return Array.from(document.querySelectorAll(".parallel")).map((pair, index) => {
        const columns = getComputedStyle(pair).gridTemplateColumns.split(" ").length;
        const p = box(pair);
        // The arrows are fixed to the viewport and as tall as it: a pair
        // overlaps one if their columns overlap.
        const overlaps = arrows.filter((a) => p.left < a.right && a.left < p.right).length;
        const clipped = Array.from(pair.querySelectorAll("pre > code"))
            .filter((code) => code.scrollWidth > code.clientWidth + 1)
            .map((code) => code.textContent.split("\n").reduce((a, b) => (b.length > a.length ? b : a), ""));
        return { index, columns, overlaps, clipped };
    });
};
const settle = (page) =>
    page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
try {
    const page = await browser.newPage({ viewport: { width: widths[0], height: 900 } });
    page.on("pageerror", (error) => {
        // A static book asks the public playground which crates it has;
        // offline that request fails, and mdBook reports it. Not a layout error.
        if (!error.message.includes("Failed to fetch")) {
            problems.push(`${page.url()}: page error: ${error.message}`);
        }
    });
    for (const file of pages) {
        await page.goto(pathToFileURL(file).href);
        // No sliding sidebar: measure the layout, not a frame of its animation.
        await page.addStyleTag({ content: "*, *::before, *::after { transition: none !important; }" });
        await page.evaluate(() => document.fonts.ready);
        for (const sidebar of ["visible", "hidden"]) {
            const open = await page.evaluate(() => document.documentElement.classList.contains("sidebar-visible"));
            if (open !== (sidebar === "visible")) {
                await page.click("#mdbook-sidebar-toggle");
            }
            for (const width of widths) {
                await page.setViewportSize({ width, height: 900 });
                // parallel.js lays out again in the animation frame after a change.
                await settle(page);
                const key = `${width}px, sidebar ${sidebar}`;
                const count = counts.get(key) ?? { pairs: 0, sideBySide: 0 };
                for (const pair of await page.evaluate(measure)) {
                    count.pairs += 1;
                    if (pair.columns !== 2) continue;
                    count.sideBySide += 1;
                    const where = `${relative(root, file)} pair ${pair.index + 1} at ${key}`;
                    if (pair.overlaps > 0) {
                        problems.push(`${where}: under a previous/next arrow`);
                    }
                    for (const line of pair.clipped) {
                        problems.push(`${where}: clipped, e.g. «${line.trim()}»`);
                    }
                }
                counts.set(key, count);
            }
        }
    }
} finally {
    await browser.close();
}
for (const [key, { pairs, sideBySide }] of counts) {
    console.log(`${key}: ${sideBySide} of ${pairs} pairs side by side`);
}
if (problems.length > 0) {
    console.error(problems.join("\n"));
    process.exit(1);
}
