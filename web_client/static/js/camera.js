// The camera: start it (only after consent), describe what went wrong, grab one frame.

export const MAX_WIDTH = 640;
export const JPEG_QUALITY = 0.7;

/** Start the camera into the <video>; returns the MediaStream or throws (see cameraProblem). */
export async function startCamera(video) {
  if (!navigator.mediaDevices?.getUserMedia) {
    const error = new Error("no camera API");
    error.name = "InsecureContext";
    throw error;
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
  });
  video.srcObject = stream;
  await video.play().catch(() => {});
  return stream;
}

export function stopCamera(video, stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
  video.srcObject = null;
}

/** The protocol's camera state for a getUserMedia failure, and what the student can do. */
export function cameraProblem(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return {
        state: "denied",
        message:
          "Camera access is blocked. Allow the camera for this site (the camera icon in " +
          "the address bar, or your browser's site settings), then press Try again.",
      };
    case "InsecureContext":
      return {
        state: "unavailable",
        message:
          "This browser only allows the camera on a secure page. Open this lesson through " +
          "https:// (or on this computer at http://localhost), then press Try again.",
      };
    case "NotReadableError":
    case "AbortError":
      return {
        state: "unavailable",
        message:
          "The camera is busy or failed to start. Close other apps or tabs that use it, " +
          "then press Try again.",
      };
    default:
      return {
        state: "unavailable",
        message: "No camera was found. Connect a camera, then press Try again.",
      };
  }
}

/** Wait until the video shows frames (or give up after `ms`). */
export function videoReady(video, ms = 5000) {
  if (video.readyState >= 2 && video.videoWidth > 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok) => {
      clearTimeout(timer);
      video.removeEventListener("loadeddata", onData);
      resolve(ok);
    };
    const onData = () => done(true);
    const timer = setTimeout(() => done(video.videoWidth > 0), ms);
    video.addEventListener("loadeddata", onData);
  });
}

/** The video's current frame as a JPEG (at most 640 px wide), as an ArrayBuffer. */
export async function grabJpeg(video, { maxWidth = MAX_WIDTH, quality = JPEG_QUALITY } = {}) {
  if (!(await videoReady(video))) throw new Error("the camera shows no picture yet");
  const scale = Math.min(1, maxWidth / video.videoWidth);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  if (!blob) throw new Error("the picture could not be encoded");
  return blob.arrayBuffer();
}
