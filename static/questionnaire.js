// The questionnaire's landing spot after a button: the fragment of the form's action URL
// already scrolls there without JavaScript (#errors, #entry-N); this moves the keyboard
// focus there too, where a browser does not, so a screen reader starts at the error
// summary or at the new programme block.
document.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById(window.location.hash.slice(1)) ||
    document.getElementById("errors");
  if (target && target.tabIndex === -1) {
    target.focus();
  }
});
