/**
 * Multipart upload through XMLHttpRequest, because fetch() reports no upload progress.
 * Resolves with the parsed JSON body on 2xx; rejects with ApiError (its detail shown to the user).
 */
import { ApiError, errorMessage, parseJson } from "./http";

export interface UploadProgress {
  loaded: number;
  total: number;
  /** 0..1, or null while the browser cannot tell the total. */
  fraction: number | null;
}

export interface UploadHandle<T> {
  promise: Promise<T>;
  abort(): void;
}

export function uploadMultipart<T>(
  url: string,
  form: FormData,
  csrfToken: string,
  onProgress: (p: UploadProgress) => void,
): UploadHandle<T> {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<T>((resolve, reject) => {
    xhr.open("POST", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("X-CSRFToken", csrfToken);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      onProgress({
        loaded: e.loaded,
        total: e.total,
        fraction: e.lengthComputable && e.total > 0 ? e.loaded / e.total : null,
      });
    });
    xhr.addEventListener("load", () => {
      const body = parseJson(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body as T);
      } else {
        reject(new ApiError(xhr.status, errorMessage(xhr.status, body), body));
      }
    });
    xhr.addEventListener("error", () => {
      // A server that refuses a too-big body may reset the connection before answering 413.
      reject(new ApiError(0, "The upload failed: the connection was closed (is the file too big?)."));
    });
    xhr.addEventListener("abort", () => reject(new ApiError(0, "Upload cancelled.")));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
