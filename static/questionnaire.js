// The questionnaire's landing spot after a button: the fragment of the form's action URL
// already scrolls there without JavaScript (#errors, #entry-N); this moves the keyboard
// focus too, so a screen reader starts at the error summary or the new programme block.
document.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById(window.location.hash.slice(1)) ||
    document.getElementById("errors");
  if (!target) {
    return;
  }
  if (target.id.indexOf("entry-") === 0) {
    target = target.querySelector("input[type=text], select, textarea") || target;
  }
  target.focus();
});
