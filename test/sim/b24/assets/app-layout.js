/*
 * The portal side of the app frame protocol (what Bitrix's BX.rest.AppLayout does): each app
 * iframe is filled by a form POST; the frame posts "method:params:callback:appSid" strings (or
 * {method, params, callback, appSid} objects) and gets "callback:JSON" back. Messages are
 * accepted only from the app's origin and with the frame's APP_SID.
 */
(function () {
  'use strict';
  var frames = {};

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json();
    });
  }

  function submit(cfg) {
    var old = document.getElementById(cfg.frameId + '-form');
    if (old) old.parentNode.removeChild(old);
    var form = document.createElement('form');
    form.id = cfg.frameId + '-form';
    form.method = 'POST';
    form.action = cfg.action;
    form.target = cfg.frameId;
    form.style.display = 'none';
    Object.keys(cfg.fields).forEach(function (name) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = cfg.fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  function reply(cfg, callback, result) {
    var frame = document.getElementById(cfg.frameId);
    if (!callback || !frame || !frame.contentWindow) return;
    frame.contentWindow.postMessage(
      callback + ':' + (result === undefined ? '' : JSON.stringify(result)),
      cfg.appOrigin,
    );
  }

  function parse(data) {
    if (data && typeof data === 'object')
      return { method: data.method, params: data.params, callback: data.callback, appSid: data.appSid };
    if (typeof data !== 'string') return null;
    var parts = data.split(':');
    if (parts.length < 3) return null;
    var raw = parts.slice(1, parts.length - 2).join(':');
    var params = {};
    if (raw) {
      try {
        params = JSON.parse(raw);
      } catch {
        params = raw;
      }
    }
    return {
      method: parts[0],
      params: params,
      callback: parts[parts.length - 2],
      appSid: parts[parts.length - 1],
    };
  }

  var slider = null;

  function openSlider(cfg, title, onClose) {
    closeSlider();
    var overlay = document.createElement('div');
    overlay.className = 'slider-overlay';
    overlay.setAttribute('data-testid', 'app-slider');
    var panel = document.createElement('div');
    panel.className = 'slider-panel';
    var width = Number(cfg.sliderWidth) || 0;
    if (width > 0) panel.style.width = width + 'px';
    var head = document.createElement('div');
    head.className = 'slider-head';
    var h = document.createElement('span');
    h.className = 'slider-title';
    h.textContent = title || '';
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'slider-close';
    close.setAttribute('data-testid', 'slider-close');
    close.textContent = '×';
    close.onclick = function () {
      closeSlider();
    };
    head.appendChild(h);
    head.appendChild(close);
    var layout = document.createElement('div');
    layout.className = 'app-layout';
    layout.id = cfg.frameId + '-layout';
    layout.style.height = '100%';
    var iframe = document.createElement('iframe');
    iframe.name = cfg.frameId;
    iframe.id = cfg.frameId;
    iframe.className = 'app-iframe';
    iframe.setAttribute('data-testid', 'slider-iframe');
    layout.appendChild(iframe);
    panel.appendChild(head);
    panel.appendChild(layout);
    overlay.appendChild(panel);
    document.body.appendChild(overlay);
    slider = { overlay: overlay, cfg: cfg, onClose: onClose, title: h };
    mount(cfg);
  }

  function closeSlider() {
    if (!slider) return;
    var s = slider;
    slider = null;
    delete frames[s.cfg.appSid];
    s.overlay.parentNode.removeChild(s.overlay);
    if (s.onClose) s.onClose();
  }

  var commands = {
    getInitData: function (cfg, params, done) {
      done(cfg.initData);
      cfg.initData.FIRST_RUN = false;
    },
    getInterface: function (cfg, params, done) {
      done({ command: Object.keys(commands), event: [] });
    },
    refreshAuth: function (cfg, params, done) {
      post(cfg.urls.refreshAuth).then(function (data) {
        if (!data.access_token) return alert('Unable to get new token! Reload page, please!');
        cfg.initData.AUTH_ID = data.access_token;
        cfg.initData.REFRESH_ID = data.refresh_token;
        cfg.initData.AUTH_EXPIRES = data.expires_in;
        done({ AUTH_ID: data.access_token, AUTH_EXPIRES: data.expires_in, REFRESH_ID: data.refresh_token });
      });
    },
    resizeWindow: function (cfg, params, done) {
      var layout = document.getElementById(cfg.frameId + '-layout');
      var width = params.width == '100%' ? '100%' : (parseInt(params.width, 10) || 100) + 'px';
      var height = parseInt(params.height, 10);
      if (width) layout.style.width = width;
      if (height > 0) layout.style.height = height + 'px';
      var rect = layout.getBoundingClientRect();
      done({ width: rect.width, height: rect.height });
    },
    setTitle: function (cfg, params, done) {
      var el = slider && slider.cfg === cfg ? slider.title : document.getElementById('app-title');
      if (el && params && params.title !== undefined) el.textContent = params.title;
      done(params);
    },
    setScroll: function (cfg, params, done) {
      if (params && params.scroll >= 0) window.scrollTo(window.scrollX, parseInt(params.scroll, 10));
      done(params);
    },
    setUserOption: function (cfg, params, done) {
      cfg.initData.USER_OPTIONS[params.name] = params.value;
      done(params);
    },
    setAppOption: function (cfg, params, done) {
      if (!cfg.initData.IS_ADMIN) return;
      cfg.initData.APP_OPTIONS[params.name] = params.value;
      done(params);
    },
    setInstall: function (cfg, params, done) {
      done(params);
    },
    setInstallFinish: function (cfg, params) {
      var value = !(params && params.value === false);
      post(cfg.urls.installFinish, { value: value }).then(function (data) {
        var h = window.location.href.replace(/(\?|&)install_finished=[^&]*/gi, '$1');
        window.location = (
          h +
          (h.indexOf('?') === -1 ? '?' : '&') +
          'install_finished=' +
          (data.result ? 'Y' : 'N')
        )
          .replace('&&', '&')
          .replace('?&', '?');
      });
    },
    reloadWindow: function (cfg) {
      submit(cfg);
    },
    openApplication: function (cfg, params, done) {
      var options = {};
      var title = '';
      var width = 0;
      Object.keys(params || {}).forEach(function (k) {
        if (k === 'bx24_title') title = String(params[k]);
        else if (k === 'bx24_width') width = params[k];
        else if (k.indexOf('bx24_') !== 0) options[k] = params[k];
      });
      post(cfg.urls.frame, { placement: 'DEFAULT', options: options }).then(function (child) {
        child.sliderWidth = width;
        openSlider(child, title, function () {
          done();
        });
      });
    },
    closeApplication: function (cfg, params, done) {
      if (slider && slider.cfg === cfg) closeSlider();
      done();
    },
    openPath: function (cfg, params, done) {
      var path = String((params && params.path) || '');
      if (
        !/^\/(crm\/(deal|lead|contact|company|type)|marketplace|company\/personal\/user\/[0-9]+|workgroups\/group\/[0-9]+)\//.test(
          path,
        )
      )
        return done({ result: 'error', errorCode: 'PATH_NOT_AVAILABLE' });
      window.location = window.B24SimPortalBase.replace(/\/$/, '') + path;
    },
    placementBindEvent: function (cfg, params, done) {
      done();
    },
  };

  window.addEventListener('message', function (e) {
    var msg = parse(e.data);
    if (!msg) return;
    var cfg = frames[msg.appSid];
    if (!cfg || e.origin !== cfg.appOrigin) return;
    var command = commands[msg.method];
    if (!command) return;
    command(cfg, msg.params || {}, function (result) {
      reply(cfg, msg.callback, result);
    });
  });

  function mount(cfg) {
    frames[cfg.appSid] = cfg;
    if (document.readyState === 'loading')
      document.addEventListener('DOMContentLoaded', function () {
        submit(cfg);
      });
    else submit(cfg);
  }

  window.B24SimLayout = { mount: mount, openSlider: openSlider, closeSlider: closeSlider, frames: frames };
})();
