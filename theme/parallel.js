// Python and Rust side by side, but only where both fit.
//
// theme/parallel.css puts the two programs of a <div class="parallel"> next
// to each other on wide screens. Where a line of either program is longer
// than its half of the page, a reader would have to scroll that pane
// sideways; such a pair reads better stacked, one program above the other,
// each as wide as the text. This script tries every pair side by side and
// stacks it again (class `stacked`) where a code block would overflow. It
// runs when the page loads, when the window is resized, when the sidebar
// opens or closes, and when a block's hidden lines are shown.
(function () {
    "use strict";

    function overflows(pair) {
        return Array.from(pair.querySelectorAll("pre > code")).some(
            (code) => code.scrollWidth > code.clientWidth + 1
        );
    }

    function layOut() {
        const pairs = Array.from(document.querySelectorAll(".parallel"));
        // Read every width side by side first, then stack, so that the page
        // reflows once rather than once per pair.
        pairs.forEach((pair) => pair.classList.remove("stacked"));
        const tooWide = pairs.filter(overflows);
        tooWide.forEach((pair) => pair.classList.add("stacked"));
    }

    let pending = null;
    function layOutSoon() {
        if (pending !== null) {
            cancelAnimationFrame(pending);
        }
        pending = requestAnimationFrame(() => {
            pending = null;
            layOut();
        });
    }

    window.addEventListener("resize", layOutSoon);
    // mdBook marks an open sidebar with the class `sidebar-visible` on <html>.
    new MutationObserver(layOutSoon).observe(document.documentElement, {
        attributes: true,
        attributeFilter: ["class"],
    });
    // Showing a block's hidden lines (the eye button) can lengthen its
    // lines: watch the classes inside each pair, but not the pair's own
    // class, which layOut itself changes.
    const inside = new MutationObserver((mutations) => {
        if (mutations.some((m) => !m.target.classList.contains("parallel"))) {
            layOutSoon();
        }
    });
    document.querySelectorAll(".parallel").forEach((pair) =>
        inside.observe(pair, { attributes: true, attributeFilter: ["class"], subtree: true })
    );
    // Fonts change the width of the code; lay out again once they are in.
    if (document.fonts) {
        document.fonts.ready.then(layOutSoon);
    }
    layOut();
})();
