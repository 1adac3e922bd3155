/* Search in one tap on a phone. furo keeps its search box in the navigation
   drawer below 63em; conf/_templates/page.html puts a link to the search page
   at the top of the article, and this script moves it into furo's phone
   header, next to the theme and contents buttons. Without JavaScript the link
   stays at the top of the article (and is hidden where the sidebar shows). */
(function () {
  "use strict";
  function run() {
    var link = document.querySelector("a.cd-search-link");
    var header = document.querySelector(".mobile-header .header-right");
    if (!link || !header) { return; }
    link.classList.add("cd-in-header");
    header.insertBefore(link, header.firstChild);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
