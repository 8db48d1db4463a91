// Files in the open conversation: a customer's photo shown in the thread, a document
// to download, and the file an agent attaches to a reply. Files are opened with the
// agent's token (GET /api/attachments/{id}), never by a link anyone could reuse, and
// shown from a blob: URL that lives until sign-out.

import {session} from "./console-state.js";
import {h} from "./dom.js";
import {t} from "./labels.js";

// Attachment id -> blob: URL, or the promise of one while it loads.
const opened = new Map();

/** "820 B", "14 KB", "2.3 MB". */
export function fileSize(bytes) {
  const size = Number(bytes) || 0;
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${Math.round(size / 1024)} KB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}

export const isImage = (attachment) => String(attachment?.media_type || "").startsWith("image/");

/** The file's blob: URL, fetched once with the agent's token. */
function blobUrl(attachment) {
  const known = opened.get(attachment.id);
  if (known) return Promise.resolve(known);
  const loading = session.call(attachment.url, {blob: true})
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      opened.set(attachment.id, url);
      return url;
    })
    .catch((err) => {
      opened.delete(attachment.id);
      throw err;
    });
  opened.set(attachment.id, loading);
  return loading;
}

/** Signed out: the files on screen are forgotten with the sign-in. */
export function forgetFiles() {
  for (const url of opened.values()) {
    if (typeof url === "string") URL.revokeObjectURL(url);
  }
  opened.clear();
}

/** A file in the thread: an image inline, any other file as a download. */
export function fileView(attachment) {
  if (!attachment?.id) return null;
  const caption = `${attachment.filename} · ${fileSize(attachment.size_bytes)}`;
  if (isImage(attachment)) {
    const image = h("img", {class: "msg-image", alt: attachment.filename, "data-testid": "attachment-image"});
    const link = h("a", {class: "msg-image-link", target: "_blank", rel: "noopener", title: caption}, image);
    const figure = h("figure", {class: "msg-file", "data-testid": "attachment", "data-kind": "image"},
      link, h("figcaption", {}, caption));
    const known = opened.get(attachment.id);
    const show = (url) => {
      image.src = url;
      link.href = url;
    };
    if (typeof known === "string") show(known);
    else {
      blobUrl(attachment).then(show, () => {
        figure.dataset.state = "unavailable";
        figure.querySelector("figcaption").textContent = `${caption} — ${t("file_unavailable")}`;
      });
    }
    return figure;
  }
  const button = h("button", {
    type: "button",
    class: "btn btn-small file-download",
    "data-testid": "attachment-download",
    title: t("download_file", {name: attachment.filename}),
    onclick: () => download(attachment, button),
  }, `📄 ${caption}`);
  return h("div", {class: "msg-file", "data-testid": "attachment", "data-kind": "document"}, button);
}

async function download(attachment, button) {
  button.disabled = true;
  try {
    const url = await blobUrl(attachment);
    const save = h("a", {href: url, download: attachment.filename, hidden: true});
    document.body.append(save);
    save.click();
    save.remove();
  } catch {
    button.title = t("file_unavailable");
  } finally {
    button.disabled = false;
  }
}

/** Upload a file the agent attaches to their next reply in handoff `id`. */
export function uploadFile(id, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return session.call(`/api/handoffs/${encodeURIComponent(id)}/attachments`, {method: "POST", body: form});
}

/** Whether a message's text only names its file ("[photo: a.jpg]", or the name alone). */
export function textNamesFile(message) {
  const name = message?.attachment?.filename;
  if (!name) return false;
  const text = String(message.text ?? "");
  return text === name || text === `[photo: ${name}]` || text === `[file: ${name}]`;
}
