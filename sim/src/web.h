// Text embedded in the HTML reports: escaped for HTML, or for a JSON data island.
#ifndef CHAKONG_SIM_SRC_WEB_H_
#define CHAKONG_SIM_SRC_WEB_H_

#include <string>
#include <string_view>

namespace chakong::sim {

// & < > " ' as entities: safe in element text and in quoted attributes.
inline std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(ch);
    }
  }
  return out;
}

// JSON text made safe inside <script type="application/json">: '<', '>' and '&' occur in JSON
// only inside strings, where \u003c, \u003e and \u0026 mean the same characters, so no
// "</script>" or "<!--" can close or confuse the element.
inline std::string json_island(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (char ch : json) {
    switch (ch) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out.push_back(ch);
    }
  }
  return out;
}

// A report's self-check, run once its charts are drawn: the body's data-canvases is the number
// of canvases and data-drawn the number with painted pixels (what the headless-Chromium test,
// tests/sim/render_test.py, reads from the rendered page).
inline constexpr const char* kDrawnCheckJs = R"(
window.addEventListener('load',()=>setTimeout(()=>{
 const all=[...document.querySelectorAll('canvas')];
 const painted=c=>{if(!c.width||!c.height)return false;
  const d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;
  for(let i=3;i<d.length;i+=4)if(d[i])return true;return false;};
 document.body.dataset.canvases=all.length;
 document.body.dataset.drawn=all.filter(painted).length;},100));
)";

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SRC_WEB_H_
