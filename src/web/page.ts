// The page's HTML and CSS. The script is the esbuild bundle of src/web/app (see build.ts).
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weft · live fabric</title>
<link rel="icon" href="data:,">
<style>
  html, body { margin: 0; height: 100%; font: 13px system-ui, sans-serif; color: #1f2933; }
  body { display: grid; grid-template-rows: auto 1fr; }
  header { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; padding: 6px 10px; background: #1f2933; color: #f5f7fa; }
  header h1 { font-size: 15px; margin: 0 6px 0 0; }
  header select, header button { font: inherit; }
  #counts { margin-left: auto; opacity: .9; }
  #status { padding: 2px 8px; border-radius: 8px; background: #52606d; }
  main { display: grid; grid-template-columns: minmax(0, 1fr) var(--side, 330px); min-height: 0; }
  @media (max-width: 1100px) { main { --side: 290px; } }
  #stage { position: relative; overflow: hidden; }
  #graph { position: absolute; inset: 0; background: #fff; }
  #tip { position: absolute; pointer-events: none; background: #102a43; color: #fff; font-size: 12px; padding: 4px 8px; border-radius: 4px; white-space: pre; z-index: 2; }
  aside { border-left: 1px solid #cbd2d9; overflow: auto; background: #fbfcfd; }
  aside > section { padding: 8px 12px; border-bottom: 1px solid #e4e7eb; }
  aside h2 { font-size: 13px; margin: 0 0 6px; }
  #details h2 { font-size: 14px; }
  #details dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0 0 8px; font-size: 12px; }
  #details dt { color: #616e7c; }
  #details dd { margin: 0; overflow-wrap: anywhere; }
  #details pre { font-size: 11px; max-height: 40vh; overflow: auto; background: #f0f4f8; padding: 6px; }
  #details ul { padding-left: 16px; font-size: 12px; margin: 4px 0; }
  #details .close { float: right; }
  #legend ul { list-style: none; padding: 0; margin: 0 0 8px; font-size: 12px; }
  #legend li { display: flex; align-items: center; gap: 6px; padding: 1px 0; }
  #legend li[data-id] { cursor: pointer; }
  #legend li[data-id]:hover { text-decoration: underline; }
  #legend .line { display: inline-block; width: 26px; height: 0; border-top: 3px solid; }
  #legend .box { display: inline-block; width: 18px; height: 11px; border-radius: 3px; }
  #legend .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin: 0 9px; }
  #legend .networks { max-height: 160px; overflow: auto; }
  #login { position: absolute; top: 30%; left: 50%; transform: translateX(-50%); background: #fff; border: 1px solid #cbd2d9; border-radius: 6px; padding: 16px 20px; display: grid; gap: 8px; width: 340px; z-index: 3; }
  #controllers .caption { font-weight: 600; margin-bottom: 4px; }
  #controllers table { border-collapse: collapse; font-size: 12px; }
  #controllers th, #controllers td { text-align: left; padding: 1px 8px 1px 0; white-space: nowrap; }
  #controllers th { font-weight: normal; color: #616e7c; }
  #controllers tr.leader td { font-weight: 600; }
  #controllers .error { color: #ab091e; margin-top: 4px; }
  #controllers td.late { color: #cb6e17; }
  #login[hidden], #details[hidden], #controllers[hidden], #tip[hidden], #details-json[hidden], #signout[hidden] { display: none; }
</style>
</head>
<body>
<header>
  <h1>Weft</h1>
  <span id="status">loading</span>
  <select id="f-tenant" aria-label="tenant"><option value="">all tenants</option></select>
  <select id="f-network" aria-label="network"><option value="">all networks</option></select>
  <select id="f-site" aria-label="site"><option value="">all sites</option></select>
  <select id="f-plane" aria-label="plane"><option value="">all planes</option></select>
  <span id="counts"></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<main>
  <div id="stage">
    <div id="graph"></div>
    <div id="tip" hidden></div>
    <form id="login" hidden>
      <strong>Sign in</strong>
      <label>API token <input id="token" type="password" autocomplete="current-password" style="width:100%"></label>
      <button type="submit">Connect</button>
      <span id="login-message"></span>
    </form>
  </div>
  <aside aria-label="details and legend">
    <section id="details" hidden>
      <button class="close" id="details-close" type="button" aria-label="close details">×</button>
      <h2 id="details-title"></h2>
      <dl id="details-summary"></dl>
      <strong>Recent events</strong>
      <ul id="details-events"></ul>
      <button id="details-json-toggle" type="button">Show JSON</button>
      <pre id="details-json" hidden></pre>
    </section>
    <section id="legend" aria-label="legend"></section>
    <section id="controllers" aria-label="controller replicas" hidden></section>
  </aside>
</main>
<script src="/ui/app.js"></script>
</body>
</html>
`;
