import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { createAuth, loadConfig } from "./auth";
import "./styles.css";

async function start() {
  const auth = createAuth(await loadConfig());
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App auth={auth} />
    </StrictMode>,
  );
}

void start();
