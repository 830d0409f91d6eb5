// The upload page's two privacy options (core/jobs.ts PrivacyOptions, done by
// gpu-worker/pipeline/outputs/privacy.ts): both off unless ticked, beside "Photos in the results".
import { privacyOf, type PrivacyOptions } from "../../core/jobs.ts";
import { el } from "./dom.ts";

export interface PrivacyChoiceControl {
  /** Only the options ticked, as the job sends them. */
  value(): PrivacyOptions;
  /** No change of mind while the upload runs. */
  setLocked(locked: boolean): void;
}

const WORDS: Readonly<Record<keyof Required<PrivacyOptions>, { label: string; hint: string }>> = {
  blurPeople: {
    label: "Blur people in the returned photos",
    hint: "Hikers, rangers and passers-by are blurred wherever the detector marks a person, in the photos, previews and report. Someone it misses stays visible.",
  },
  dropGps: {
    label: "Remove the GPS position from the returned photos",
    hint: "Dates and camera details stay in the photos. The spreadsheet and the camera map still show where each camera was.",
  },
};

/** Fills `container` with a fieldset of two checkboxes, both unticked. */
export function createPrivacyChoice(container: HTMLElement): PrivacyChoiceControl {
  const boxes = new Map<keyof PrivacyOptions, HTMLInputElement>();
  const options = (Object.keys(WORDS) as Array<keyof PrivacyOptions>).map((option) => {
    const input = el("input", { attrs: { type: "checkbox", name: option, id: `privacy-${option}`, "aria-describedby": `privacy-${option}-hint` } });
    boxes.set(option, input);
    return el("div", { className: "choice" }, [
      input,
      el("label", { text: WORDS[option].label, attrs: { for: `privacy-${option}` } }),
      el("span", { className: "hint choice-size", text: WORDS[option].hint, attrs: { id: `privacy-${option}-hint` } }),
    ]);
  });
  const fieldset = el("fieldset", { className: "field images-choice privacy-choice" }, [el("legend", { className: "label", text: "Privacy" }), ...options]);
  container.replaceChildren(fieldset);
  return {
    value: () => privacyOf({ blurPeople: boxes.get("blurPeople")!.checked, dropGps: boxes.get("dropGps")!.checked }),
    setLocked(locked) {
      fieldset.disabled = locked;
    },
  };
}
