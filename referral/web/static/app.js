// GOV.UK Frontend's start-up, kept out of the page: the Content-Security-Policy allows no
// inline script. Pages work without it; it adds the components' enhancements.
import { initAll } from "./govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
