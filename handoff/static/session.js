// Sign-in for the pages staff use (console, supervisor): the sign-in card, the token
// in sessionStorage, calls made with it, and sign-out. Both pages keep the token under
// one key, so one sign-in serves both in a tab.

import {api, ApiError} from "./api.js";
import {toDate} from "./format.js";
import {both, errorText} from "./labels.js";

const AUTH_KEY = "tandem.console.auth";
// Nobody is signed in yet, so these speak both languages.
const SESSION_EXPIRED = both("ui", "session_expired");

/** Why a sign-in failed, by the service's error code. */
function signInError(err) {
  return err?.code === "unauthorized" ? both("ui", "wrong_credentials") : errorText(err, {bilingual: true});
}

function loadAuth() {
  try {
    const auth = JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null");
    if (!auth?.token || !auth.agent) return null;
    const expires = toDate(auth.expires_at);
    if (expires && expires.getTime() <= Date.now()) return null;
    return auth;
  } catch {
    return null;
  }
}

function saveAuth(auth) {
  try {
    sessionStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  } catch {
    /* still works for this page view */
  }
}

function clearAuth() {
  try {
    sessionStorage.removeItem(AUTH_KEY);
  } catch {
    /* nothing stored */
  }
}

/**
 * The page's sign-in. Options: `expiredMessage`, shown when the service no longer
 * takes the token; `refusal(agent)`, a message when this agent may not use the page
 * (the card stays up; the token stays stored for the pages the agent may use).
 * `start({onSignIn(auth), onSignOut()})` restores a stored sign-in or waits for the card.
 */
export function createSession({expiredMessage = SESSION_EXPIRED, refusal = () => ""} = {}) {
  const $ = (id) => document.getElementById(id);
  const els = {
    loginView: $("login-view"), loginForm: $("login-form"), username: $("login-username"),
    password: $("login-password"), loginError: $("login-error"), loginSubmit: $("login-submit"),
    appView: $("app-view"), logout: $("logout"),
  };
  const hooks = {onSignIn: () => {}, onSignOut: () => {}};
  const session = {
    auth: null, // {token, expires_at, agent}
    get agent() {
      return session.auth?.agent;
    },
    call,
    signOut,
    /** The signed-in agent changed (their language): keep it for the next page load. */
    updateAgent(agent) {
      if (!session.auth) return;
      session.auth = {...session.auth, agent: {...session.auth.agent, ...agent}};
      saveAuth(session.auth);
    },
    /** Sign out because the service no longer takes the token. */
    expire: () => signOut(expiredMessage),
    start,
  };

  function showLoginError(message) {
    els.loginError.textContent = message || "";
  }

  function enter(auth) {
    const refused = refusal(auth.agent);
    if (refused) {
      els.loginView.hidden = false;
      els.appView.hidden = true;
      showLoginError(refused);
      return;
    }
    session.auth = auth;
    els.loginView.hidden = true;
    els.appView.hidden = false;
    hooks.onSignIn(auth);
  }

  async function login(event) {
    event.preventDefault();
    const username = els.username.value.trim();
    const password = els.password.value;
    if (!username || !password) {
      showLoginError(both("ui", "enter_credentials"));
      (username ? els.password : els.username).focus();
      return;
    }
    showLoginError("");
    els.loginSubmit.disabled = true;
    try {
      const data = await api("/api/auth/login", {method: "POST", body: {username, password}});
      if (!data?.token || !data.agent) {
        throw new ApiError(0, "bad_response", "unexpected sign-in answer");
      }
      const auth = {token: data.token, expires_at: data.expires_at ?? null, agent: data.agent};
      saveAuth(auth);
      els.password.value = "";
      enter(auth);
    } catch (err) {
      showLoginError(signInError(err));
      els.password.select();
    } finally {
      els.loginSubmit.disabled = false;
    }
  }

  /** Sign out; with a message (why), the token is already dead and is not revoked. */
  function signOut(message = "") {
    const auth = session.auth;
    if (auth && !message) {
      // Revoke the token on the server too; the page signs out whatever the answer.
      api("/api/auth/logout", {method: "POST", token: auth.token}).catch(() => {});
    }
    session.auth = null;
    clearAuth();
    hooks.onSignOut();
    els.appView.hidden = true;
    els.loginView.hidden = false;
    showLoginError(message);
    els.username.focus();
  }

  /** Call the service with the token; a 401 signs out. */
  async function call(path, options = {}) {
    const auth = session.auth;
    if (!auth) throw new ApiError(401, "unauthorized", expiredMessage);
    try {
      return await api(path, {...options, token: auth.token});
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && session.auth === auth) session.expire();
      throw err;
    }
  }

  function start({onSignIn, onSignOut}) {
    Object.assign(hooks, {onSignIn, onSignOut});
    els.loginForm.addEventListener("submit", login);
    els.logout.addEventListener("click", () => signOut());
    const saved = loadAuth();
    if (saved) {
      enter(saved);
    } else {
      clearAuth();
      els.username.focus();
    }
  }

  return session;
}
