// The values the API takes for the fields the extension asks for.
// Generated from shared/choices.py by `python manage.py client-values`: change them there.

export const FEEDBACK_TYPES = [
  { value: "bug", label: "Bug" },
  { value: "feature", label: "Feature request" },
  { value: "performance", label: "Performance" },
  { value: "docs", label: "Documentation" },
  { value: "ux", label: "Design or usability" },
  { value: "other", label: "Other" },
] as const;

export const PRIORITIES = ["low", "medium", "high", "urgent"] as const;

export const DEFAULT_PRIORITY = "medium";
