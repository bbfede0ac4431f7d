import { render } from "preact";
import { App } from "./app";
import { applyTheme } from "./components/theme";
import "./styles.css";

try {
  applyTheme(JSON.parse(localStorage.getItem("vigil.theme") ?? '"system"'));
} catch {
  applyTheme("system");
}
render(<App />, document.getElementById("app")!);
