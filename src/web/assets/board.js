// Live call board: replaces the board with each snapshot pushed by the server, alerts
// (banner and tone) when a new call waits, ticks waiting times every second, and opens
// the intake of the call this operator answers.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var alertBox = document.getElementById("alert");
  if (!board || !window.EventSource) { return; }
  var known = {};
  var audio = null;
  function waitingIds() {
    var ids = [];
    board.querySelectorAll("tr.call.waiting").forEach(function (row) { ids.push(row.dataset.call); });
    return ids;
  }
  waitingIds().forEach(function (id) { known[id] = true; });
  function tone() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.35].forEach(function (start) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + start); osc.stop(audio.currentTime + start + 0.2);
      });
    } catch (e) { /* no audio device: the banner still shows */ }
  }
  function alertNew() {
    var fresh = waitingIds().filter(function (id) { return !known[id]; });
    known = {};
    waitingIds().forEach(function (id) { known[id] = true; });
    if (fresh.length > 0) {
      alertBox.hidden = false;
      document.body.classList.add("incoming");
      tone();
      setTimeout(function () { alertBox.hidden = true; document.body.classList.remove("incoming"); }, 8000);
    }
  }
  // The call this operator just answered opens its intake at once (once per call: a
  // return to the board does not open it again).
  function openMine() {
    var row = board.querySelector("tr.call.mine");
    if (!row) { return; }
    var key = "helpline.opened." + row.dataset.call;
    try {
      if (window.sessionStorage.getItem(key)) { return; }
      window.sessionStorage.setItem(key, "1");
    } catch (e) { /* storage off: open anyway */ }
    var link = row.querySelector("a.intake");
    if (link) { window.location.assign(link.href); }
  }
  function tick() {
    var now = Date.now() / 1000;
    board.querySelectorAll("tr.call").forEach(function (row) {
      var secs = Math.max(0, Math.floor(now - Number(row.dataset.opened)));
      var cell = row.querySelector(".waited");
      if (cell) { cell.textContent = Math.floor(secs / 60) + ":" + String(secs % 60).padStart(2, "0"); }
    });
  }
  var source = new EventSource("/board/events");
  source.addEventListener("board", function (event) {
    board.innerHTML = event.data;
    board.dataset.updated = String(Date.now());
    alertNew();
    tick();
    openMine();
  });
  setInterval(tick, 1000);
})();
