// The language switch: a link in the menu bar to the same page in the other
// edition. The English book is at the site's root and the Chinese edition
// (rendered from po/zh-CN.po by `cargo book build`) under zh-CN/, page for
// page at the same paths, so the other edition's page is found by moving
// this page's path relative to its edition's root.
(function () {
    "use strict";

    const chinese = document.documentElement.lang === "zh-CN";
    // mdBook's page template defines `path_to_root` ("", "../", …).
    const editionRoot = new URL(path_to_root || "./", window.location.href);
    let page = window.location.href.slice(editionRoot.href.length);
    if (!window.location.href.startsWith(editionRoot.href)) {
        page = "";
    }
    const otherRoot = chinese
        ? new URL("../", editionRoot)
        : new URL("zh-CN/", editionRoot);

    const link = document.createElement("a");
    link.href = new URL(page, otherRoot).href;
    link.className = "language-switch";
    link.lang = chinese ? "en" : "zh-CN";
    link.textContent = chinese ? "English" : "中文";
    link.title = chinese ? "Read this page in English" : "阅读本页的中文版";
    link.setAttribute("aria-label", link.title);

    const buttons = document.querySelector(".right-buttons");
    if (buttons) {
        buttons.prepend(link);
    }

    // The Chinese edition's search index holds Latin words whole and each
    // run of Chinese characters as its overlapping pairs (`cargo book build`
    // rebuilds it so: tools/bookctl/src/i18n/search.rs); a search is split
    // the same way, so that 线程池 looks for 线程 and 程池.
    const han = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;
    function searchTokens(text) {
        const tokens = [];
        const runs = String(text ?? "").toLowerCase().match(
            /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|(?:(?![\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])[\p{L}\p{N}_])+/gu
        ) || [];
        for (const run of runs) {
            if (!han.test(run)) {
                if (run.length <= 80) {
                    tokens.push(run);
                }
                continue;
            }
            const chars = Array.from(run);
            if (chars.length === 1) {
                tokens.push(run);
            }
            for (let i = 0; i + 1 < chars.length; i++) {
                tokens.push(chars[i] + chars[i + 1]);
            }
        }
        return tokens;
    }
    if (chinese && window.elasticlunr) {
        window.elasticlunr.tokenizer = searchTokens;
    }
})();
