// Call page: clicking a transcript turn seeks the recording there; the playing turn is highlighted.
document.addEventListener("DOMContentLoaded", () => {
  const player = document.getElementById("player");
  const turns = Array.from(document.querySelectorAll("#transcript .turn"));
  if (!player || turns.length === 0) return;
  const seek = (turn) => {
    player.currentTime = parseFloat(turn.dataset.start || "0");
    player.play().catch(() => {});  // autoplay may be refused; the seek still happened
  };
  turns.forEach((turn) => {
    turn.addEventListener("click", () => seek(turn));
    turn.addEventListener("keydown", (event) => { if (event.key === "Enter") seek(turn); });
  });
  player.addEventListener("timeupdate", () => {
    let current = null;
    for (const turn of turns) {
      if (parseFloat(turn.dataset.start || "0") <= player.currentTime + 0.05) current = turn;
    }
    turns.forEach((turn) => turn.classList.toggle("playing", turn === current));
  });
});
