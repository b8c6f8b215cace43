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
  header { display: flex; gap: 12px; align-items: center; padding: 6px 10px; background: #1f2933; color: #f5f7fa; }
  header h1 { font-size: 15px; margin: 0 12px 0 0; }
  header select { font: inherit; }
  #counts { margin-left: auto; opacity: .8; }
  #status { padding: 2px 8px; border-radius: 8px; background: #52606d; }
  main { position: relative; overflow: hidden; }
  #graph { position: absolute; inset: 0; background: #fff; }
  #details { position: absolute; top: 10px; right: 10px; width: 360px; max-height: calc(100% - 20px); overflow: auto; background: #fff; border: 1px solid #cbd2d9; border-radius: 6px; padding: 8px 12px; box-shadow: 0 4px 12px rgba(0,0,0,.1); }
  #details pre { font-size: 11px; max-height: 40vh; overflow: auto; background: #f5f7fa; padding: 6px; }
  #details ul { padding-left: 16px; font-size: 12px; }
  #login { position: absolute; top: 30%; left: 50%; transform: translateX(-50%); background: #fff; border: 1px solid #cbd2d9; border-radius: 6px; padding: 16px 20px; display: grid; gap: 8px; width: 340px; }
  #controllers { position: absolute; left: 10px; bottom: 10px; max-width: 520px; max-height: 40%; overflow: auto; background: #fff; border: 1px solid #cbd2d9; border-radius: 6px; padding: 6px 10px; font-size: 12px; box-shadow: 0 4px 12px rgba(0,0,0,.1); }
  #controllers .caption { font-weight: 600; margin-bottom: 4px; }
  #controllers table { border-collapse: collapse; }
  #controllers th, #controllers td { text-align: left; padding: 1px 8px 1px 0; white-space: nowrap; }
  #controllers th { font-weight: normal; color: #616e7c; }
  #controllers tr.leader td { font-weight: 600; }
  #controllers .error { color: #ab091e; margin-top: 4px; }
  #controllers td.late { color: #cb6e17; }
  #login[hidden], #details[hidden], #controllers[hidden] { display: none; }
</style>
</head>
<body>
<header>
  <h1>Weft</h1>
  <span id="status">loading</span>
  <select id="f-tenant" aria-label="tenant"><option value="">all tenants</option></select>
  <select id="f-network" aria-label="network"><option value="">all networks</option></select>
  <select id="f-site" aria-label="site"><option value="">all sites</option></select>
  <span id="counts"></span>
</header>
<main>
  <div id="graph"></div>
  <form id="login" hidden>
    <strong>Sign in</strong>
    <label>API token <input id="token" type="password" autocomplete="current-password" style="width:100%"></label>
    <button type="submit">Connect</button>
    <span id="login-message"></span>
  </form>
  <section id="controllers" aria-label="controller replicas" hidden></section>
  <section id="details" hidden>
    <h3 id="details-title"></h3>
    <pre id="details-body"></pre>
    <strong>Recent events</strong>
    <ul id="details-events"></ul>
  </section>
</main>
<script src="/ui/app.js"></script>
</body>
</html>
`;
