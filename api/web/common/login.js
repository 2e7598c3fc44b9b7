// A login form for pages that need a signed-in user of certain roles.
import { ApiError, currentUser, login, logout } from "./api.js";

/** Resolves with the user once someone with one of `roles` is signed in. */
export function requireUser(container, roles, { title = "Fieldwork" } = {}) {
  const user = currentUser();
  if (user && roles.includes(user.role)) return Promise.resolve(user);
  if (user) logout();
  return new Promise((resolve) => {
    container.innerHTML = `
      <form class="login card" id="login-form">
        <h1>${title}</h1>
        <label>User name <input name="username" autocomplete="username" required></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit">Sign in</button>
        <p class="error" role="alert" id="login-error"></p>
      </form>`;
    const form = container.querySelector("#login-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector("#login-error");
      error.textContent = "";
      try {
        const signedIn = await login(form.username.value.trim(), form.password.value);
        if (!roles.includes(signedIn.role)) {
          logout();
          error.textContent = `This page is for: ${roles.join(", ")}.`;
          return;
        }
        resolve(signedIn);
      } catch (e) {
        error.textContent = e instanceof ApiError ? e.message : "The server could not be reached.";
      }
    });
  });
}

/** Escapes text for use inside HTML. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
