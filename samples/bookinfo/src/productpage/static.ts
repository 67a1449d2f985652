/** The product page's stylesheet, served under /static so the gateway's `/static` route has something to serve. */
export const STATIC_FILES: Readonly<Record<string, { type: string; body: string }>> = {
  '/static/bookinfo.css': {
    type: 'text/css; charset=utf-8',
    body: `body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;background:#fff}
.container{max-width:72rem;margin:0 auto;padding:0 1.5rem}
.nav{background:#1f2937;color:#fff}.nav-row{display:flex;justify-content:space-between;align-items:center;height:4rem}
.brand{color:#fff;text-decoration:none;font-size:1.125rem;font-weight:500}
.account{text-align:right}.user{margin:0;color:#f9fafb}.muted{color:#9ca3af;font-size:.75rem}
.button{display:inline-block;border:0;border-radius:.375rem;background:#2563eb;color:#fff;padding:.6rem .9rem;font-weight:600;cursor:pointer;text-decoration:none}
.link{border:0;background:none;color:#2563eb;cursor:pointer}
.dialog{border:1px solid #d1d5db;border-radius:.375rem;padding:2rem;min-width:18rem}
.dialog form{display:flex;flex-direction:column;gap:.5rem}.dialog input{padding:.4rem;border:1px solid #d1d5db;border-radius:.375rem}
.title{font-size:3rem;color:#1e3a8a;margin:2rem 0 1rem}.description{font-size:1.25rem;line-height:1.75;color:#4b5563;max-width:56rem}
.panel{padding:2rem 0}.heading{font-size:1.875rem;font-weight:600;margin:0 0 1rem}
.details{border-collapse:collapse}.details th,.details td{text-align:left;padding:.5rem 1rem .5rem 0;border-bottom:1px solid #e5e7eb}
.band{background:rgba(37,99,235,.05);padding:3rem 0}.reviews{display:flex;flex-wrap:wrap;gap:2rem}
.review{flex:1 1 20rem}.review blockquote{margin:1.5rem 0 1rem;font-size:1.25rem;font-weight:600}
.reviewer{font-weight:600}.served-by{color:#4b5563;font-family:ui-monospace,monospace;font-size:.875rem}
.flex{display:flex}.gap-x-1{column-gap:.25rem}.star{width:1.25rem;height:1.25rem;flex:none}
.text-2xl{font-size:1.5rem}.text-lg{font-size:1.125rem;color:#4b5563}
.text-red-500{color:#ef4444}.text-black-500{color:#000}.text-blue-500{color:#3b82f6}.text-green-500{color:#22c55e}.text-yellow-500{color:#eab308}
`,
  },
};
