// A button for an action that cannot be taken back (promote, roll back).
import { h } from './dom.js';

/**
 * A button that asks to be clicked a second time within 4 s before it acts; while it acts it
 * is disabled, then `isDisabled()` says whether it stays so.
 */
export function confirmButton(label, extraClass, act, id, isDisabled = () => false) {
  const button = h('button', { type: 'button', class: extraClass, id }, label);
  let armed = null;
  button.addEventListener('click', async () => {
    if (armed === null) {
      button.textContent = `${label}? Click to confirm`;
      armed = setTimeout(() => {
        armed = null;
        button.textContent = label;
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = label;
    button.disabled = true;
    try {
      await act();
    } finally {
      button.disabled = isDisabled();
    }
  });
  return button;
}
