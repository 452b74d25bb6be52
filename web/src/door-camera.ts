/**
 * Scanning a ticket's QR code with the phone's camera, where the browser can: the Shape
 * Detection API's BarcodeDetector (Chrome on Android, ChromeOS and macOS; not Firefox or
 * desktop Linux) with 'qr_code' among its formats, and getUserMedia. Elsewhere the button
 * stays hidden and a note says so: typing, pasting and handheld scanners still work.
 */

/** The part of BarcodeDetector this page uses; TypeScript's DOM lib does not declare it (yet). */
interface DetectedBarcode {
  rawValue: string;
  format: string;
}
interface BarcodeDetector {
  detect(source: ImageBitmapSource): Promise<DetectedBarcode[]>;
}
interface BarcodeDetectorConstructor {
  new (options?: { formats: string[] }): BarcodeDetector;
  getSupportedFormats(): Promise<string[]>;
}
declare global {
  interface Window {
    BarcodeDetector?: BarcodeDetectorConstructor;
  }
}

/** How often a frame is looked at: often enough to feel instant, rarely enough to spare a phone's battery. */
const DETECT_EVERY_MS = 150;

export interface CameraElements {
  start: HTMLButtonElement;
  stop: HTMLButtonElement;
  note: HTMLElement;
  video: HTMLVideoElement;
}

/** The BarcodeDetector constructor when this browser can read QR codes from a camera, else a reason it cannot. */
async function qrDetector(): Promise<BarcodeDetectorConstructor | string> {
  const Detector = 'BarcodeDetector' in window ? window.BarcodeDetector : undefined;
  if (Detector === undefined) return 'This browser can’t scan with the camera: type or paste the code, or use a handheld scanner.';
  if (typeof navigator.mediaDevices?.getUserMedia !== 'function') return 'The camera is only available over https (or on this device’s own address): type or paste the code.';
  try {
    if (!(await Detector.getSupportedFormats()).includes('qr_code')) return 'This browser can’t read QR codes with the camera: type or paste the code.';
  } catch {
    return 'This browser can’t scan with the camera: type or paste the code.';
  }
  return Detector;
}

/**
 * Wires the camera controls; onCode gets each code read (the camera stops first). Returns
 * stop(), for when the page goes away from the scanner (sign-out).
 */
export async function setUpCamera(els: CameraElements, onCode: (code: string) => void): Promise<() => void> {
  const Detector = await qrDetector();
  if (typeof Detector === 'string') {
    els.start.hidden = true;
    els.note.textContent = Detector;
    return () => undefined;
  }
  let stream: MediaStream | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let session = 0;

  const stop = (): void => {
    session += 1;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = undefined;
    els.video.srcObject = null;
    els.video.hidden = true;
    els.stop.hidden = true;
    els.start.hidden = false;
  };

  const start = async (): Promise<void> => {
    stop();
    const mine = session;
    els.start.hidden = true;
    els.note.textContent = 'Starting the camera…';
    try {
      const media = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      if (mine !== session) {
        // Stopped (or restarted) while the permission prompt was open.
        for (const track of media.getTracks()) track.stop();
        return;
      }
      stream = media;
      els.video.srcObject = media;
      els.video.hidden = false;
      els.stop.hidden = false;
      await els.video.play();
    } catch (err) {
      stop();
      els.note.textContent =
        err instanceof DOMException && err.name === 'NotAllowedError'
          ? 'The camera was not allowed: type or paste the code instead.'
          : 'The camera could not start: type or paste the code instead.';
      return;
    }
    els.note.textContent = 'Point the camera at the ticket’s QR code.';
    const detector = new Detector({ formats: ['qr_code'] });
    const look = async (): Promise<void> => {
      if (mine !== session) return;
      let code: string | undefined;
      try {
        // A frame may not be ready yet (readyState < HAVE_CURRENT_DATA): just look again.
        if (els.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
          code = (await detector.detect(els.video)).map((b) => b.rawValue.trim()).find((v) => v !== '');
        }
      } catch {
        code = undefined;
      }
      if (mine !== session) return;
      if (code !== undefined) {
        stop();
        els.note.textContent = '';
        onCode(code);
        return;
      }
      timer = setTimeout(() => void look(), DETECT_EVERY_MS);
    };
    void look();
  };

  els.start.hidden = false;
  els.note.textContent = '';
  els.start.addEventListener('click', () => void start());
  els.stop.addEventListener('click', () => {
    stop();
    els.note.textContent = '';
  });
  // A camera left running in a pocket drains the phone: stop it when the page is hidden.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && stream !== undefined) stop();
  });
  return stop;
}
