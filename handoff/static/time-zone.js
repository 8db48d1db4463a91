// The business's time zone (TANDEM_TIME_ZONE on the service), in which every page
// shows times, whatever the browser's own zone. Read once, before any importer runs;
// a page that cannot read it (the service unreachable) falls back to the browser's.

async function businessTimeZone() {
  try {
    const response = await fetch("/api/public-config", {credentials: "same-origin"});
    if (!response.ok) return undefined;
    const zone = (await response.json())?.time_zone;
    // An unknown name throws a RangeError here rather than on every format.
    new Intl.DateTimeFormat("en", {timeZone: zone});
    return zone;
  } catch {
    return undefined;
  }
}

export const TIME_ZONE = await businessTimeZone();
