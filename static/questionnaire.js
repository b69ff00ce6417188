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

// A field asked only for some answers of another one (show_if) stays hidden until that
// field holds one of them. Without JavaScript every field shows with its "Answer if ..."
// hint, and the server ignores answers whose condition is not met.
document.addEventListener("DOMContentLoaded", function () {
  var dependants = document.querySelectorAll("[data-show-if]");
  if (!dependants.length) {
    return;
  }
  function answersOf(form, name) {
    var given = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      var ticked = element.type !== "radio" && element.type !== "checkbox" || element.checked;
      if (element.name === name && ticked) {
        given.push(element.value);
      }
    });
    return given;
  }
  function update() {
    Array.prototype.forEach.call(dependants, function (field) {
      var wanted = field.getAttribute("data-show-values").split(" ");
      var given = answersOf(field.closest("form"), field.getAttribute("data-show-if"));
      field.hidden = !given.some(function (value) { return wanted.indexOf(value) !== -1; });
    });
  }
  document.addEventListener("change", update);
  update();
});
