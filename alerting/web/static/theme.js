// Before the first paint: the night theme the user chose (ui.js wireTheme keeps it).
document.documentElement.dataset.theme = localStorage.getItem("pinewatch.theme") || "day";
