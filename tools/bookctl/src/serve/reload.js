// Served by `cargo book serve` into every page: reloads the page after each
// successful rebuild of the book, and shows a failed build's error on top of
// the page until the next good build.
(function () {
    "use strict";
    const shown = window.bookctl.generation;
    const events = new EventSource(window.bookctl.eventsUrl);

    events.addEventListener("build", function (event) {
        const build = JSON.parse(event.data);
        if (build.error) {
            showError(build.error);
        } else if (build.generation !== shown) {
            events.close();
            window.location.reload();
        } else {
            hideError();
        }
    });

    function showError(text) {
        if (!document.body) {
            document.addEventListener("DOMContentLoaded", () => showError(text));
            return;
        }
        let overlay = document.getElementById("bookctl-error");
        if (!overlay) {
            overlay = document.createElement("pre");
            overlay.id = "bookctl-error";
            overlay.style.cssText =
                "position:fixed;left:0;right:0;bottom:0;max-height:50%;overflow:auto;" +
                "margin:0;padding:1em;z-index:1000;white-space:pre-wrap;" +
                "background:#fee;color:#900;border-top:3px solid #c00;font-size:14px";
            document.body.appendChild(overlay);
        }
        overlay.textContent = "The book did not build (showing the last good build):\n\n" + text;
    }

    function hideError() {
        const overlay = document.getElementById("bookctl-error");
        if (overlay) {
            overlay.remove();
        }
    }
})();
