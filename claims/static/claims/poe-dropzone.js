// Proof of execution: drop files on the box (or browse) and they are uploaded at once.
// Without JavaScript the same form works with its file input and Upload button.
(function () {
  "use strict";

  function init(zone) {
    var form = zone.closest("form");
    var input = zone.querySelector('input[type="file"]');
    if (!form || !input) {
      return;
    }

    function upload(files) {
      if (!files || files.length === 0) {
        return;
      }
      if (input.files !== files) {
        input.files = files;
      }
      zone.classList.add("uploading");
      zone.setAttribute("aria-busy", "true");
      form.submit();
    }

    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        if (event.dataTransfer) {
          event.dataTransfer.dropEffect = "copy";
        }
        zone.classList.add("dragover");
      });
    });
    ["dragleave", "dragend"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.classList.remove("dragover");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dragover");
      if (event.dataTransfer) {
        upload(event.dataTransfer.files);
      }
    });
    input.addEventListener("change", function () {
      upload(input.files);
    });
  }

  function ready() {
    document.querySelectorAll("[data-dropzone]").forEach(init);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
