// The upload page's choice of which photos come back in the results zip (the job option `images`,
// core/jobs.ts), each with the download it means for the files picked (downloadEstimate.ts).
import { DEFAULT_IMAGES, IMAGES_CHOICES, type ImagesChoice } from "../../core/jobs.ts";
import { el } from "./dom.ts";
import { DETECTION_SHARE, estimateDownloadBytes } from "./downloadEstimate.ts";
import { formatBytes } from "./format.ts";

export interface ImagesChoiceControl {
  value(): ImagesChoice;
  /** Shows each choice's download for this many bytes picked (0: nothing picked yet). */
  showEstimates(uploadBytes: number): void;
  /** No change of mind while the upload runs. */
  setLocked(locked: boolean): void;
}

const WORDS: Readonly<Record<ImagesChoice, { label: string; size: (about: string) => string }>> = {
  detections: {
    label: "Photos where something was found, with boxes drawn",
    size: (about) =>
      `${about}, usually far less than you upload: most camera-trap photos are empty (wind, sun, grass), so we reckon on about ${Math.round(DETECTION_SHARE * 100)} % of them.`,
  },
  all: { label: "Every photo, with boxes where something was found", size: (about) => `${about}, as much as you upload.` },
  none: { label: "No photos: only the spreadsheet and detection files", size: (about) => `${about}.` },
};

/** Fills `container` with the choice (a radio group under a legend); DEFAULT_IMAGES is chosen. */
export function createImagesChoice(container: HTMLElement): ImagesChoiceControl {
  const inputs = new Map<ImagesChoice, HTMLInputElement>();
  const sizes = new Map<ImagesChoice, HTMLElement>();
  const options = IMAGES_CHOICES.map((choice) => {
    const input = el("input", { attrs: { type: "radio", name: "images", value: choice, id: `images-${choice}`, "aria-describedby": `images-${choice}-size` } });
    input.checked = choice === DEFAULT_IMAGES;
    const size = el("span", { className: "hint choice-size", attrs: { id: `images-${choice}-size` } });
    inputs.set(choice, input);
    sizes.set(choice, size);
    return el("div", { className: "choice" }, [input, el("label", { text: WORDS[choice].label, attrs: { for: `images-${choice}` } }), size]);
  });
  const fieldset = el("fieldset", { className: "field images-choice" }, [
    el("legend", { className: "label", text: "Photos in the results" }),
    el("p", { className: "hint", text: "You keep your own photos: the spreadsheet and detection files are always included, and most people need back only the photos with something in them." }),
    ...options,
  ]);
  container.replaceChildren(fieldset);

  return {
    value: () => IMAGES_CHOICES.find((choice) => inputs.get(choice)?.checked) ?? DEFAULT_IMAGES,
    showEstimates(uploadBytes) {
      for (const choice of IMAGES_CHOICES) {
        sizes.get(choice)!.textContent = uploadBytes > 0 ? `Download: ${WORDS[choice].size(`about ${formatBytes(estimateDownloadBytes(choice, uploadBytes))}`)}` : "";
      }
    },
    setLocked(locked) {
      fieldset.disabled = locked;
    },
  };
}
