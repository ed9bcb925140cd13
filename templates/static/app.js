/*
 * The app pages' only script (no inline scripts: the pages' CSP allows none). It sends the page's
 * session with every htmx request, fits the iframe to the content through BX24, finishes the
 * install when every step is done, keeps the tab bar usable by keyboard and shows request errors.
 */
(function () {
  'use strict';
  var bx24Ready = false;

  function framed() {
    return document.body && document.body.getAttribute('data-framed') === 'true' && window.BX24;
  }

  function withBx24(fn) {
    if (!framed()) return;
    if (bx24Ready) return fn(window.BX24);
    window.BX24.init(function () {
      bx24Ready = true;
      fn(window.BX24);
    });
  }

  var lastHeight = 0;
  function fit() {
    withBx24(function (BX24) {
      var height = Math.max(document.querySelector('.app').scrollHeight + 24, 240);
      if (Math.abs(height - lastHeight) < 4) return;
      lastHeight = height;
      BX24.resizeWindow('100%', height);
    });
  }

  var finishing = false;
  function finishInstallIfComplete() {
    if (finishing || !document.querySelector('[data-install-complete]')) return;
    finishing = true;
    withBx24(function (BX24) {
      BX24.installFinish();
    });
  }

  function showError(status) {
    var box = document.getElementById('request-error');
    if (!box) return;
    box.querySelector('[data-expired]').hidden = status !== 401;
    box.querySelector('[data-failed]').hidden = status === 401;
    box.hidden = false;
    fit();
  }

  // A poll (the import's progress, the login's status) goes on after a failed request, more slowly
  // each time: a network hiccup or a gateway restarting must not freeze the page until a reload.
  // An expired session (401) is not retried: only a reload brings a new one.
  var POLL_RETRY_MS = [2000, 4000, 8000, 15000, 30000];
  var pollFailed = false;
  function retryPoll(elt, status) {
    if (status === 401 || !elt || !elt.hasAttribute || !elt.hasAttribute('data-poll')) return;
    pollFailed = true;
    var failures = Number(elt.getAttribute('data-poll-failures') || 0);
    elt.setAttribute('data-poll-failures', String(failures + 1));
    setTimeout(
      function () {
        if (document.body.contains(elt) && window.htmx) window.htmx.trigger(elt, 'poll-retry');
      },
      POLL_RETRY_MS[Math.min(failures, POLL_RETRY_MS.length - 1)],
    );
  }

  // The error line a failed poll showed goes once a poll answers again.
  function clearPollError(elt) {
    if (!pollFailed || !elt || !elt.hasAttribute || !elt.hasAttribute('data-poll')) return;
    pollFailed = false;
    var box = document.getElementById('request-error');
    if (box) box.hidden = true;
    fit();
  }

  function afterContent() {
    finishInstallIfComplete();
    var autoclose = document.querySelector('[data-autoclose]');
    if (autoclose)
      setTimeout(
        function () {
          window.close();
        },
        Number(autoclose.getAttribute('data-autoclose')) || 3000,
      );
    fit();
  }

  document.addEventListener('htmx:configRequest', function (e) {
    e.detail.headers['X-HHB24-Session'] = document.body.getAttribute('data-session') || '';
  });
  document.addEventListener('htmx:responseError', function (e) {
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    showError(status);
    retryPoll(e.detail.elt, status);
  });
  document.addEventListener('htmx:sendError', function (e) {
    showError(0);
    retryPoll(e.detail.elt, 0);
  });
  document.addEventListener('htmx:afterSettle', function (e) {
    clearPollError(e.detail.elt);
    afterContent();
  });
  document.addEventListener('DOMContentLoaded', function () {
    afterContent();
    if (window.ResizeObserver) new ResizeObserver(fit).observe(document.body);
  });

  document.addEventListener('submit', function (e) {
    var form = e.target;
    // «Войти» opens hh.ru in a new window; the tab then asks how the login went until it knows.
    if (form.hasAttribute && form.hasAttribute('data-hh-login') && window.htmx) {
      setTimeout(function () {
        window.htmx.ajax('GET', '/ui/auth/status?poll=1', { target: '#auth-panel', swap: 'outerHTML' });
      }, 1000);
    }
  });

  // «Аналитика»: a chart's numbers as a CSV file, made here from the rows the page carries (UTF-8
  // with a byte order mark, so that spreadsheet programs read Cyrillic; `;` for Russian ones).
  function downloadCsv(el) {
    var rows = JSON.parse(el.getAttribute('data-csv') || '[]');
    var sep = el.getAttribute('data-csv-separator') || ',';
    var cell = function (v) {
      var s = v === null || v === undefined ? '' : String(v);
      // A name from hh.ru that starts like a formula stays text in a spreadsheet.
      if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = "'" + s;
      return /[";,\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    };
    var text = rows
      .map(function (r) {
        return r.map(cell).join(sep);
      })
      .join('\r\n');
    var url = URL.createObjectURL(new Blob(['\ufeff' + text + '\r\n'], { type: 'text/csv;charset=utf-8' }));
    var a = document.createElement('a');
    a.href = url;
    a.download = el.getAttribute('data-csv-name') || 'table.csv';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 1000);
  }

  document.addEventListener('click', function (e) {
    var el = e.target.closest
      ? e.target.closest('[data-open-path],[data-close-window],[data-reload],[data-csv]')
      : null;
    if (!el) return;
    if (el.hasAttribute('data-csv')) {
      downloadCsv(el);
    } else if (el.hasAttribute('data-open-path')) {
      var path = el.getAttribute('data-open-path');
      withBx24(function (BX24) {
        BX24.openPath(path);
      });
    } else if (el.hasAttribute('data-close-window')) {
      window.close();
    } else if (el.hasAttribute('data-reload')) {
      if (framed())
        withBx24(function (BX24) {
          BX24.reloadWindow();
        });
      else window.location.reload();
    }
  });

  document.addEventListener('keydown', function (e) {
    // Enter in the employee search finds, it does not submit the settings.
    if (e.key === 'Enter' && e.target.type === 'search') {
      e.preventDefault();
      return;
    }
    // The tab bar: arrows move between the tabs that are open, Home and End jump (WAI-ARIA tabs).
    var tab = e.target.closest ? e.target.closest('[role=tab]') : null;
    if (!tab || ['ArrowLeft', 'ArrowRight', 'Home', 'End'].indexOf(e.key) < 0) return;
    var tabs = Array.prototype.slice.call(tab.parentNode.querySelectorAll('[role=tab]:not([disabled])'));
    var i = tabs.indexOf(tab);
    var next =
      e.key === 'Home'
        ? 0
        : e.key === 'End'
          ? tabs.length - 1
          : (i + (e.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
    e.preventDefault();
    tabs[next].focus();
    tabs[next].click();
  });
})();
